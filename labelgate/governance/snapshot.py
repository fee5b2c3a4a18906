"""From the pipeline's accepted labels to a label-set version with its evidence."""

from collections.abc import Iterable
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


def recorded_gate(
    ledger: Ledger, accepted: pd.DataFrame, *, scans: Iterable[str] = ("scan",)
) -> dict[str, Any]:
    """The gate result the last run behind ``accepted`` recorded (less its ``scans``), with
    its ``ledger_row``; empty when none of those runs recorded one."""
    runs = set(accepted["run_id"].dropna())
    thresholds = [e for e in ledger.events(event=THRESHOLD_CHOSEN) if e.run_id in runs]
    if not thresholds:
        return {}
    last = thresholds[-1]
    return {**{k: v for k, v in last.payload.items() if k not in scans}, "ledger_row": last.seq}


def publish_with_evidence(
    spec: "ProjectSpec",
    accepted: pd.DataFrame,
    ledger: Ledger,
    *,
    run_id: str | None,
    gate: dict[str, Any],
    evidence: dict[str, Any],
    quality_checks: dict[str, str] | None,
) -> PublishResult:
    """Publish ``accepted`` with a manifest holding the gate, the modality's ``evidence``, the
    quality-check results and the ledger head."""
    provenance = {
        "gate": gate,
        **evidence,
        "quality_checks": quality_checks or {},
        "ledger_head_at_creation": ledger.head(),
    }
    return publish_label_set(spec, accepted, run_id=run_id, provenance=provenance, ledger=ledger)


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
    gate = recorded_gate(ledger, accepted)
    per_class = per_class_accuracy(
        auto_labels,
        reviewed,
        spec.class_names,
        threshold=gate.get("threshold"),
        confidence=spec.gate.confidence,
    )
    return publish_with_evidence(
        spec,
        accepted,
        ledger,
        run_id=run_id,
        gate=gate,
        evidence={"per_class_accuracy": per_class},
        quality_checks=quality_checks,
    )
