"""From the pipeline's accepted labels to a label-set version with its evidence."""

from typing import TYPE_CHECKING, Any

import pandas as pd

from labelgate.governance.recording import record_reviews
from labelgate.label_sets import PublishResult, publish_label_set
from labelgate.label_sets.evidence import per_class_accuracy
from labelgate.ledger import Ledger
from labelgate.ledger.events import THRESHOLD_CHOSEN
from labelgate.project import ProjectData

if TYPE_CHECKING:
    from labelgate.spec import ProjectSpec


def snapshot_accepted(
    spec: "ProjectSpec",
    accepted: pd.DataFrame,
    auto_labels: pd.DataFrame,
    reviewed: pd.DataFrame,
    *,
    run_id: str | None,
    quality_checks: dict[str, str] | None = None,
) -> PublishResult | None:
    """Publish ``accepted`` as a new version (if changed), with the gate's ledger record,
    per-class accuracy bounds and the quality-check results in its manifest. None while
    nothing is accepted: an empty label set is not worth a version."""
    if accepted.empty:
        return None
    ledger = Ledger.for_project(spec)
    # Every human label in the set must have its review_decision row first (reconciles an
    # import interrupted between the review file and the ledger).
    record_reviews(ledger, ProjectData(spec).reviews.all_reviews(), run_id=run_id)
    runs = set(accepted["run_id"].dropna()) if len(accepted) else set()
    thresholds = [e for e in ledger.events(event=THRESHOLD_CHOSEN) if e.run_id in runs]
    gate: dict[str, Any] = {}
    if thresholds:
        gate = {k: v for k, v in thresholds[-1].payload.items() if k != "scan"}
        gate["ledger_row"] = thresholds[-1].seq
    per_class = per_class_accuracy(
        auto_labels,
        reviewed,
        spec.class_names,
        threshold=gate.get("threshold"),
        confidence=spec.gate.confidence,
    )
    provenance = {
        "gate": gate,
        "per_class_accuracy": per_class,
        "quality_checks": quality_checks or {},
        "ledger_head_at_creation": ledger.head(),
    }
    return publish_label_set(spec, accepted, run_id=run_id, provenance=provenance, ledger=ledger)
