"""Drift of a batch against the approved label set, and the blocking check that holds back a
drifted batch's auto-labels."""

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from labelgate.drift import check_drift, total_variation
from labelgate.label_sets import publish_label_set
from labelgate.ledger import Ledger
from labelgate.ledger.events import LABEL_SET_APPROVED
from labelgate.models.config import DriftSpec
from labelgate.spec import ProjectSpec
from labelgate_cli.runner import import_reviews
from pipelines.definitions import build_definitions
from resources.encoder import TextEncoderResource
from tests.conftest import ProjectFactory

CLASSES = ["a", "b"]
BOUNDS = DriftSpec(max_class_shift=0.2, max_confidence_drop=0.1, min_items=10)


def test_same_distribution_passes_and_a_shift_fails() -> None:
    base = ["a"] * 50 + ["b"] * 50
    ok = check_drift(["a"] * 11 + ["b"] * 9, [0.9] * 20, base, [0.9] * 100, CLASSES, BOUNDS)
    assert ok.passed and ok.class_shift == pytest.approx(0.05)
    shifted = check_drift(["a"] * 18 + ["b"] * 2, [0.9] * 20, base, [0.9] * 100, CLASSES, BOUNDS)
    assert not shifted.passed and "class distribution moved 0.400" in shifted.reason
    unsure = check_drift(["a"] * 10 + ["b"] * 10, [0.6] * 20, base, [0.9] * 100, CLASSES, BOUNDS)
    assert not unsure.passed and "mean confidence fell 0.300" in unsure.reason


def test_small_batches_and_projects_without_an_approved_set_pass_with_a_reason() -> None:
    tiny = check_drift(["a"] * 5, [0.2] * 5, ["b"] * 100, [0.9] * 100, CLASSES, BOUNDS)
    assert tiny.passed and "fewer than drift.min_items" in tiny.reason
    none = check_drift(["a"] * 50, [0.2] * 50, None, None, CLASSES, BOUNDS)
    assert none.passed and none.reason == "no approved label set to compare with yet"
    assert total_variation(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == 1.0


def approve_labels(spec: ProjectSpec, labels: list[str], item_ids: list[str]) -> None:
    accepted = pd.DataFrame(
        {
            "item_id": item_ids,
            "label": labels,
            "source": "auto",
            "confidence": 0.99,
            "labeler_versions": "{}",
            "reviewer": None,
            "run_id": "test",
        }
    )
    label_set = publish_label_set(spec, accepted).label_set
    Ledger.for_project(spec).append(
        LABEL_SET_APPROVED,
        {"version": label_set.version, "content_sha256": label_set.manifest["content_sha256"]},
        actor="steward",
    )


def test_blocking_drift_check_fails_the_labeling_run_of_a_drifted_batch(
    make_project: ProjectFactory, instance: dg.DagsterInstance
) -> None:
    spec = make_project(training={"drift": {"max_class_shift": 0.3, "min_items": 20}})
    encoder = TextEncoderResource(kind="hashing")
    defs = build_definitions([spec], encoder=encoder)
    instance.add_dynamic_partitions(f"{spec.name}__batches", ["batch_001.csv"])
    import_reviews(spec, [], instance=instance, encoder=encoder)
    # Approved labels that are all card fraud: the batch's spread over six intents is drift.
    approve_labels(spec, ["card_fraud"] * 200, [f"old-{i}" for i in range(200)])
    job = defs.resolve_job_def(f"{spec.name}__label_batch")
    result = job.execute_in_process(
        instance=instance, partition_key="batch_001.csv", raise_on_error=False
    )
    assert not result.success
    (evaluation,) = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.asset_check_evaluation_data.check_name == "drift"
    ]
    assert not evaluation.passed
    assert "class distribution moved" in evaluation.description
    # Nothing downstream of the drifted auto-labels ran in the run (churn_report), and the
    # failed run does not trigger the publish step that auto-accepts.
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert "auto_labels" in materialized and "churn_report" not in materialized
