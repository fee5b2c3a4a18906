"""Where a project stands: counts, automation, the gate's evidence, reviews still needed and
the expected automation after more reviews (the power curve)."""

from dataclasses import dataclass

import pandas as pd

from labelgate.accept import calibration_evidence, run_gate, unreviewed_confidence
from labelgate.gate import GateResult
from labelgate.gate_power import PowerPoint, power_curve
from labelgate.images.gate import detection_evidence, run_detection_gate
from labelgate.project import ACCEPTED_LABELS, QUARANTINE, REVIEW_QUEUE, ProjectData
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
    gate: GateResult | None
    # Expected automation after 100 / 250 / 500 more random calibration reviews.
    power: tuple[PowerPoint, ...] = ()
    planned_calibration: int = 0  # the calibration sample the project plans (auto or given)
    warnings: tuple[str, ...] = ()

    @property
    def automation_rate(self) -> float:
        return self.auto_accepted / self.items if self.items else 0.0


def project_status(data: ProjectData) -> ProjectStatus:
    tables = data.tables
    auto = data.auto_labels()
    reviewed = data.reviewed()
    accepted = tables.read(ACCEPTED_LABELS) if tables.exists(ACCEPTED_LABELS) else None
    queue = tables.read(REVIEW_QUEUE) if tables.exists(REVIEW_QUEUE) else None
    pending_queue = 0 if queue is None else int((~queue["item_id"].isin(reviewed["item_id"])).sum())
    gate_of = run_detection_gate if data.spec.modality == "image_detection" else run_gate
    gate = gate_of(auto.drop_duplicates("item_id"), reviewed, data.spec.gate) if len(auto) else None
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
    """The gate's power curve from the current calibration evidence (empty without any)."""
    auto = auto_labels.drop_duplicates("item_id")
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
