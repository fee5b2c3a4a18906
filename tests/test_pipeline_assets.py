"""Each asset of a project materialized with ``dagster.materialize`` on a real small corpus."""

import json
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from assets.common import ProjectAssets
from labelgate.ids import text_item_id
from labelgate.project import (
    ACCEPTED_LABELS,
    AUTO_LABELS,
    CANDIDATE_LABELS,
    QUARANTINE,
    RAW_ITEMS,
    REVIEW_QUEUE,
    REVIEWED_LABELS,
    ProjectData,
)
from labelgate.spec import ProjectSpec
from labelgate.synth import CorpusFiles, simulate_reviews
from labelgate.text import normalize_text
from pipelines.project_defs import project_assets
from quality.checks import build_quality_checks
from resources.encoder import TextEncoderResource
from resources.io_manager import TableIOManager

BATCHES = ["batch_001.csv", "batch_002.parquet"]


class Pipeline:
    """One project's assets and checks, run against a test instance."""

    def __init__(
        self, spec: ProjectSpec, instance: dg.DagsterInstance, encoder: TextEncoderResource
    ) -> None:
        self.project = ProjectAssets(spec)
        self.data = ProjectData(spec)
        self.instance = instance
        self.defs: list[Any] = [
            *project_assets(self.project),
            *build_quality_checks(self.project),
        ]
        self.resources = {
            self.project.io_manager_key: TableIOManager(root=str(self.data.tables.root)),
            "encoder": encoder,
        }
        instance.add_dynamic_partitions(self.project.partitions.name or "", BATCHES)

    def materialize(
        self,
        *tables: str,
        partition: str | None = None,
        run_config: dict[str, Any] | None = None,
        raise_on_error: bool = True,
    ) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            self.defs,
            selection=[self.project.key(t) for t in tables],
            partition_key=partition,
            instance=self.instance,
            resources=self.resources,
            run_config=run_config,
            raise_on_error=raise_on_error,
        )

    def label_all_batches(self) -> None:
        if not self.data.tables.exists(REVIEWED_LABELS):
            self.materialize(REVIEWED_LABELS)
        for batch in BATCHES:
            self.materialize(RAW_ITEMS, CANDIDATE_LABELS, AUTO_LABELS, partition=batch)

    def import_reviews(
        self, *files: Path, raise_on_error: bool = True
    ) -> dg.ExecuteInProcessResult:
        op = f"{self.project.name}__{REVIEWED_LABELS}"
        config = {"ops": {op: {"config": {"files": [str(f) for f in files]}}}}
        return self.materialize(REVIEWED_LABELS, run_config=config, raise_on_error=raise_on_error)


def metadata(result: dg.ExecuteInProcessResult, table: str) -> dict[str, Any]:
    (event,) = [
        e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == table
    ]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def step_error(result: dg.ExecuteInProcessResult) -> str:
    """The failed step's error messages, its causes included."""
    error = result.get_step_failure_events()[0].event_specific_data.error
    messages = []
    while error is not None:
        messages.append(error.message)
        error = error.cause
    return "\n".join(messages)


@pytest.fixture
def pipeline(
    project: ProjectSpec, instance: dg.DagsterInstance, hashing_encoder: TextEncoderResource
) -> Pipeline:
    return Pipeline(project, instance, hashing_encoder)


def test_raw_items_conserves_counts_and_quarantines_bad_rows(
    pipeline: Pipeline, corpus: CorpusFiles, truth: pd.DataFrame
) -> None:
    result = pipeline.materialize(RAW_ITEMS, partition="batch_001.csv")
    meta = metadata(result, RAW_ITEMS)
    assert meta["seen"] == meta["kept"] + meta["duplicates"] + meta["quarantined"]
    assert meta["quarantined"] == 3  # an empty, a blank and an over-long text
    assert set(meta["quarantine_reasons"]) == {
        "empty text",
        "text longer than 20000 characters (22499)",
    }
    items = pipeline.data.tables.read(RAW_ITEMS, "batch_001.csv")
    quarantine = pipeline.data.tables.read(QUARANTINE, "batch_001.csv")
    assert len(items) == meta["kept"] and len(quarantine) == 3
    assert items["item_id"].is_unique
    assert (items["item_id"] == items["text"].map(lambda t: text_item_id(normalize_text(t)))).all()
    assert result.get_asset_check_evaluations()[0].passed


def test_second_batch_counts_cross_batch_repeats_as_duplicates(pipeline: Pipeline) -> None:
    pipeline.materialize(RAW_ITEMS, partition="batch_001.csv")
    first = set(pipeline.data.tables.read(RAW_ITEMS, "batch_001.csv")["item_id"])
    meta = metadata(pipeline.materialize(RAW_ITEMS, partition="batch_002.parquet"), RAW_ITEMS)
    second = set(pipeline.data.tables.read(RAW_ITEMS, "batch_002.parquet")["item_id"])
    assert not first & second
    assert meta["seen"] == meta["kept"] + meta["duplicates"] + meta["quarantined"]


def test_candidate_and_auto_labels_for_a_batch(pipeline: Pipeline, project: ProjectSpec) -> None:
    pipeline.materialize(REVIEWED_LABELS)
    result = pipeline.materialize(
        RAW_ITEMS, CANDIDATE_LABELS, AUTO_LABELS, partition="batch_001.csv"
    )
    assert result.success
    items = pipeline.data.tables.read(RAW_ITEMS, "batch_001.csv")
    candidates = pipeline.data.tables.read(CANDIDATE_LABELS, "batch_001.csv")
    assert set(candidates["labeler"]) == {"rules", "embedding"}
    assert len(candidates) == 2 * len(items)
    versions = metadata(result, CANDIDATE_LABELS)["labeler_versions"]
    assert versions["rules"].startswith("rules-")
    for name, group in candidates.groupby("labeler"):
        assert (group["labeler_version"] == versions[name]).all()
    rules = candidates[candidates["labeler"] == "rules"]
    assert 0 < rules["label"].notna().mean() < 1  # rules abstain on part of the items

    auto = pipeline.data.tables.read(AUTO_LABELS, "batch_001.csv")
    assert sorted(auto["item_id"]) == sorted(items["item_id"])
    assert set(auto["label"]) <= set(project.class_names)
    assert np.allclose([sum(p) for p in auto["probs"]], 1.0)
    assert (auto["confidence"] == [max(p) for p in auto["probs"]]).all()
    assert json.loads(auto["labeler_versions"].iloc[0]) == versions
    auto_meta = metadata(result, AUTO_LABELS)
    assert auto_meta["confidence_histogram"].startswith("![confidence histogram](data:image/png")
    checks = {e.asset_key.path[-1]: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {RAW_ITEMS: True, AUTO_LABELS: True}


def test_review_queue_exports_csv_and_label_studio_tasks(
    pipeline: Pipeline, project: ProjectSpec
) -> None:
    pipeline.label_all_batches()
    result = pipeline.materialize(REVIEW_QUEUE)
    queue = pipeline.data.tables.read(REVIEW_QUEUE)
    assert (queue["purpose"] == "calibration").sum() == 120
    assert (queue["purpose"] == "uncertain").sum() == 30
    meta = metadata(result, REVIEW_QUEUE)
    csv = pd.read_csv(meta["csv"], dtype=str, keep_default_na=False)
    assert csv["item_id"].tolist() == queue.sort_values("rank")["item_id"].tolist()
    tasks = json.loads(Path(meta["label_studio_tasks"]).read_text(encoding="utf-8"))
    assert len(tasks) == len(queue)
    predicted = tasks[0]["predictions"][0]["result"][0]["value"]["choices"][0]
    assert predicted in project.class_names
    uncertain = queue[queue["purpose"] == "uncertain"]
    auto = pipeline.data.auto_labels().set_index("item_id")
    assert (auto.loc[uncertain["item_id"], "margin"].diff().dropna() >= 0).all()


def test_bad_review_file_is_refused_whole(pipeline: Pipeline, tmp_path: Path) -> None:
    pipeline.label_all_batches()
    pipeline.materialize(REVIEW_QUEUE)
    queue = pipeline.data.tables.read(REVIEW_QUEUE)
    good_id = queue["item_id"].iloc[0]
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "item_id,label,reviewer\n"
        f"{good_id},card_fraud,alice\n"
        "0000000000000000,card_fraud,alice\n"
        f"{queue['item_id'].iloc[1]},not_a_class,alice\n"
        f"{queue['item_id'].iloc[2]},loan_inquiry,\n",
        encoding="utf-8",
    )
    result = pipeline.import_reviews(bad, raise_on_error=False)
    assert not result.success
    failure = step_error(result)
    assert "unknown item id '0000000000000000'" in failure
    assert "'not_a_class' is not one of the classes" in failure
    assert "missing reviewer" in failure
    assert pipeline.data.reviewed().empty  # nothing half-applied


def test_review_round_trains_few_shot_and_gate_accepts(
    make_project: Any,
    instance: dg.DagsterInstance,
    hashing_encoder: TextEncoderResource,
    truth: pd.DataFrame,
    tmp_path: Path,
) -> None:
    spec = make_project(review={"calibration_size": 200}, gate={"target_accuracy": 0.9})
    pipeline = Pipeline(spec, instance, hashing_encoder)
    pipeline.label_all_batches()
    before = metadata(pipeline.materialize(ACCEPTED_LABELS, REVIEW_QUEUE), ACCEPTED_LABELS)
    assert before["auto_accepted"] == 0
    assert before["reviews_needed"] > 0

    answers = tmp_path / "answers.csv"
    simulate_reviews(pipeline.data.queue_dir / "review_queue.csv", truth, answers, error_rate=0)
    imported = metadata(pipeline.import_reviews(answers), REVIEWED_LABELS)
    assert imported["dagster/row_count"] == 230
    pipeline.label_all_batches()
    candidates = pipeline.data.tables.read_all(CANDIDATE_LABELS)
    embedding = candidates[candidates["labeler"] == "embedding"]
    assert embedding["labeler_version"].str.contains("-fs-").all()  # few-shot head trained
    reviewed = set(pipeline.data.reviewed()["item_id"])
    assert set(embedding.loc[embedding["out_of_fold"], "item_id"]) == reviewed

    result = pipeline.materialize(ACCEPTED_LABELS)
    meta = metadata(result, ACCEPTED_LABELS)
    accepted = pipeline.data.tables.read(ACCEPTED_LABELS)
    assert meta["auto_accepted"] > 0, meta["gate_reason"]
    assert meta["human"] == 230
    auto = accepted[accepted["source"] == "auto"]
    assert (auto["confidence"] >= meta["threshold"]).all()
    assert not set(auto["item_id"]) & reviewed
    assert accepted["run_id"].eq(result.run_id).all()
    assert accepted["labeler_versions"].map(json.loads).map(len).eq(2).all()
    assert meta["accuracy_lower_bound"] >= 0.9
    assert meta["reliability"].startswith("![reliability diagram](data:image/png")
    assert result.get_asset_check_evaluations()[0].passed
