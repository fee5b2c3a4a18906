"""Where a project stands: counts, automation, the gate's evidence and reviews still needed."""

from dataclasses import dataclass

import pandas as pd

from labelgate.accept import run_gate
from labelgate.gate import GateResult
from labelgate.images.box_gate import BoxGateResult
from labelgate.images.gate import run_detection_gate
from labelgate.project import ACCEPTED_LABELS, QUARANTINE, REVIEW_QUEUE, ProjectData


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
    auto = data.auto_labels()
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
    )
