"""Image detection label sets: the accepted box sets published through the same
``labelgate.label_sets`` machinery as text (versions, manifest, datasheet, ledger, approval).

The manifest's evidence is the detection gate's: the threshold the ledger recorded (when
there is one), how many reviewed calibration images the auto-labels got exactly right, and
the auto-labels' mAP / IoU against every reviewed image.
"""

from collections import Counter
from typing import TYPE_CHECKING, Any

import pandas as pd

from labelgate.governance.recording import record_reviews
from labelgate.governance.snapshot import publish_with_evidence, recorded_gate
from labelgate.images.gate import detection_evidence, scores_against_reviews
from labelgate.images.project import ImageProjectData
from labelgate.label_sets import PublishResult
from labelgate.ledger import Ledger

if TYPE_CHECKING:
    from labelgate.spec import ProjectSpec


def box_summary(boxes: Any) -> str:
    """A box set as one line for the ledger, e.g. ``2 box(es): ball x1, cube x1``."""
    counts = Counter(str(dict(b)["label"]) for b in ([] if boxes is None else boxes))
    parts = ", ".join(f"{name} x{n}" for name, n in sorted(counts.items()))
    return f"{sum(counts.values())} box(es)" + (f": {parts}" if parts else "")


def detection_set_evidence(
    auto_labels: pd.DataFrame, reviewed: pd.DataFrame, class_names: list[str]
) -> dict[str, Any]:
    auto = auto_labels.drop_duplicates("item_id")
    calibration = detection_evidence(auto, reviewed, purposes=["calibration"])
    scores = scores_against_reviews(auto, reviewed, class_names)
    return {
        "calibration_images": len(calibration),
        "calibration_exact": int(calibration["correct"].sum()),
        "scores_against_reviews": None if scores is None else scores.to_metadata(),
    }


def project_gate(spec: "ProjectSpec") -> dict[str, Any]:
    """The gate the project file asks for, in the keys a recorded gate result uses."""
    gate = spec.gate
    return {
        "criterion": gate.detection_criterion,
        "target": gate.target_accuracy,
        "target_recall": gate.recall_target if gate.detection_criterion == "box" else None,
        "confidence_level": gate.confidence,
        "threshold": None,
    }


def snapshot_accepted_boxes(
    spec: "ProjectSpec",
    accepted: pd.DataFrame,
    auto_labels: pd.DataFrame,
    reviewed: pd.DataFrame,
    *,
    run_id: str | None,
    quality_checks: dict[str, str] | None = None,
) -> PublishResult | None:
    """Publish the accepted box sets as a new version (if changed); None while nothing is
    accepted. Every human box set gets its ``review_decision`` ledger row first, so the
    four-eyes rule of ``labelgate approve`` sees who reviewed what."""
    if accepted.empty:
        return None
    ledger = Ledger.for_project(spec)
    reviews = ImageProjectData(spec).box_reviews.all_reviews()
    record_reviews(ledger, reviews.assign(label=reviews["boxes"].map(box_summary)), run_id=run_id)
    gate = project_gate(spec)  # the project's gate, even where no run recorded one
    gate.update(recorded_gate(ledger, accepted, scans=("scan", "box_scan", "miss_scan")))
    evidence = detection_set_evidence(auto_labels, reviewed, spec.class_names)
    return publish_with_evidence(
        spec,
        accepted,
        ledger,
        run_id=run_id,
        gate=gate,
        evidence={"detection_evidence": evidence},
        quality_checks=quality_checks,
    )
