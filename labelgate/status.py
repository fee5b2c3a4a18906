"""Where a project stands: counts, automation, the gate's evidence, reviews still needed and
the expected automation after more reviews (the power curve)."""

from dataclasses import dataclass

import pandas as pd

from labelgate.accept import calibration_evidence, run_gate, unreviewed_confidence
from labelgate.gate import GateResult
from labelgate.gate_power import PowerPoint, power_curve
from labelgate.images.box_gate import BoxGateResult
from labelgate.images.gate import detection_evidence, run_detection_gate
from labelgate.project import ACCEPTED_LABELS, AUTO_LABELS, QUARANTINE, REVIEW_QUEUE, ProjectData
from labelgate.review.budget import calibration_warnings, planned_calibration_size
from labelgate.spec import ProjectSpec

POWER_STEPS = (100, 250, 500)


@dataclass(frozen=True)
class ProjectStatus:
    project: str
    batches: int
    items: int
    quarantined: int
    auto_labeled: int
    reviewed: int
    calibration_reviews: int
    queued_for_review: int
    auto_accepted: int
    accepted: int
    gate: GateResult | BoxGateResult | None
    # Expected automation after 100 / 250 / 500 more random calibration reviews.
    power: tuple[PowerPoint, ...] = ()
    planned_calibration: int = 0  # the calibration sample the project plans (auto or given)
    warnings: tuple[str, ...] = ()

    @property
    def automation_rate(self) -> float:
        return self.auto_accepted / self.items if self.items else 0.0


def _gate(
    data: ProjectData, auto: pd.DataFrame, reviewed: pd.DataFrame
) -> GateResult | BoxGateResult:
    """The gate as ``accepted_labels`` runs it (detection: without in-sample images)."""
    if data.spec.modality != "image_detection":
        return run_gate(auto, reviewed, data.spec.gate)
    from labelgate.models.image_service import in_sample_items  # imports the YOLO code

    in_sample = in_sample_items(data.spec, auto)
    return run_detection_gate(auto, reviewed, data.spec.gate, in_sample=in_sample)


def project_status(data: ProjectData) -> ProjectStatus:
    tables = data.tables
    # Text auto-labels without their (N, K) probs: the status never needs them, and at a
    # million items they would be most of the memory.
    columns = (
        ["item_id", "label", "confidence"] if data.spec.modality != "image_detection" else None
    )
    auto = data.auto_labels() if columns is None else tables.read_all(AUTO_LABELS, columns=columns)
    reviewed = data.reviewed()
    accepted = tables.read(ACCEPTED_LABELS) if tables.exists(ACCEPTED_LABELS) else None
    queue = tables.read(REVIEW_QUEUE) if tables.exists(REVIEW_QUEUE) else None
    pending_queue = 0 if queue is None else int((~queue["item_id"].isin(reviewed["item_id"])).sum())
    gate = _gate(data, auto.drop_duplicates("item_id"), reviewed) if len(auto) else None
    return ProjectStatus(
        project=data.spec.name,
        batches=len(tables.partitions("raw_items")),
        items=len(data.items(["item_id"])),
        quarantined=len(tables.read_all(QUARANTINE)),
        auto_labeled=auto["item_id"].nunique() if len(auto) else 0,
        reviewed=len(reviewed),
        calibration_reviews=int((reviewed["purpose"] == "calibration").sum()),
        queued_for_review=pending_queue,
        auto_accepted=0 if accepted is None else int((accepted["source"] == "auto").sum()),
        accepted=0 if accepted is None else len(accepted),
        gate=gate,
        power=tuple(forecast_power(data.spec, auto, reviewed)) if len(auto) else (),
        planned_calibration=planned_calibration_size(
            data.spec.review, auto["item_id"].nunique() if len(auto) else 0, data.spec.gate
        ),
        warnings=tuple(
            calibration_warnings(
                data.spec.review, data.spec.gate, auto["item_id"].nunique() if len(auto) else None
            )
        ),
    )


def forecast_power(
    spec: ProjectSpec,
    auto_labels: pd.DataFrame,
    reviewed: pd.DataFrame,
    extra_reviews: tuple[int, ...] = POWER_STEPS,
) -> list[PowerPoint]:
    """The gate's power curve from the current calibration evidence (empty without any, and
    for the box-level detection gate, whose two thresholds it does not model)."""
    auto = auto_labels.drop_duplicates("item_id")
    if spec.modality == "image_detection" and spec.gate.detection_criterion == "box":
        return []  # the box gate's evidence is per box and miss score, not one confidence
    if spec.modality == "image_detection":
        evidence = detection_evidence(auto, reviewed, purposes=["calibration"])
    else:
        evidence = calibration_evidence(auto, reviewed)
    if evidence.empty:
        return []
    return power_curve(
        evidence["confidence"].to_numpy(dtype=float),
        evidence["correct"].to_numpy(dtype=bool),
        population_confidence=unreviewed_confidence(auto, reviewed),
        n_items=len(auto),
        target=spec.gate.target_accuracy,
        confidence_level=spec.gate.confidence,
        planning_accuracy=spec.gate.planning_accuracy,
        extra_reviews=extra_reviews,
    )
