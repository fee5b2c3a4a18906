"""Trace of an auto-accepted item: back to the ``threshold_chosen`` row of the run whose gate
admitted it (the governance fixture never auto-accepts, so its trace test skips this branch).

About 20 s: a 400-message text project (hashing encoder), one review round with a lenient
gate (80% at 80% confidence) so the gate accepts."""

from pathlib import Path

import dagster as dg
import pandas as pd

from labelgate.governance.trace import describe, trace_item
from labelgate.label_sets import LabelSetStore
from labelgate.ledger.events import THRESHOLD_CHOSEN
from labelgate.spec import load_project
from labelgate.synth import write_corpus
from tests.conftest import review_round, write_project


def test_auto_accepted_item_traces_to_the_threshold_that_admitted_it(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", n=400, n_batches=1, seed=11)
    spec = load_project(
        write_project(
            tmp_path,
            corpus.inbox,
            gate={"target_accuracy": 0.8, "confidence": 0.8},
            review={"calibration_size": 150, "uncertain_size": 0},
        )
    )
    truth = pd.read_csv(corpus.truth_csv, dtype=str, keep_default_na=False)
    with dg.instance_for_test() as instance:
        review_round(spec, instance, truth, tmp_path / "round1.csv", error_rate=0.0)

    label_set = LabelSetStore(spec).latest(status=None)
    assert label_set is not None
    labels = label_set.labels()
    auto = labels[labels["source"] == "auto"]
    assert len(auto), "the lenient gate should auto-accept some items"
    row = auto.iloc[0]
    trace = trace_item(spec, str(row["item_id"]))
    (threshold,) = trace.thresholds  # exactly the run that admitted it
    assert threshold.event == THRESHOLD_CHOSEN and threshold.run_id == row["run_id"]
    assert threshold.payload["threshold"] is not None
    assert float(row["confidence"]) >= float(threshold.payload["threshold"])
    assert "threshold" in describe(threshold)
    assert any(s["source"] == "auto" and s["run_id"] == row["run_id"] for s in trace.label_sets)
    human = labels[labels["source"] == "human"].iloc[0]  # a human label has no threshold
    assert trace_item(spec, str(human["item_id"])).thresholds == []
