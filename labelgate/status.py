"""Where a project stands: counts, automation, the gate's evidence and reviews still needed."""

from dataclasses import dataclass

from labelgate.accept import run_gate
from labelgate.gate import GateResult
from labelgate.images.gate import run_detection_gate
from labelgate.project import ACCEPTED_LABELS, AUTO_LABELS, QUARANTINE, REVIEW_QUEUE, ProjectData


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

    @property
    def automation_rate(self) -> float:
        return self.auto_accepted / self.items if self.items else 0.0


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
    )
