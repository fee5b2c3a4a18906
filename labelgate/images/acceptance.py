"""Accepted labels of a detection project: the gate run on never-trained-on evidence, the
accepted box sets, and the scores reported with them."""

from dataclasses import dataclass

import pandas as pd

from labelgate.gate import GateResult
from labelgate.images.box_gate import BoxGateResult
from labelgate.images.boxes import DetectionScores
from labelgate.images.gate import (
    accepted_boxes,
    detection_evidence,
    run_detection_gate,
    scores_against_reviews,
)
from labelgate.models.image_service import in_sample_items
from labelgate.spec import ProjectSpec


@dataclass(frozen=True)
class DetectionAcceptance:
    result: GateResult | BoxGateResult
    accepted: pd.DataFrame  # the accepted_labels table
    evidence: pd.DataFrame  # calibration images: confidence, correct
    in_sample_left_out: int  # calibration images the champion trained on, not used
    scores: DetectionScores | None  # auto-labels against every reviewed image

    def labels(self) -> pd.Series:
        """The class of every accepted box."""
        return pd.Series([b["label"] for bs in self.accepted["boxes"] for b in bs], dtype=str)

    def numbers(self) -> dict[str, float | None]:
        """Scores and thresholds worth a plot; None where they do not exist."""
        found: dict[str, float | None] = {}
        if self.scores is not None:
            for name in ("map50", "mean_iou"):
                value = getattr(self.scores, name)
                found[name] = None if value is None else round(value, 4)
        if isinstance(self.result, BoxGateResult):
            found.update(
                box_threshold=self.result.threshold,
                miss_threshold=self.result.miss_threshold,
                recall_lower_bound=self.result.recall_lower_bound,
            )
        return found


def accept_detections(
    spec: ProjectSpec, auto_labels: pd.DataFrame, reviewed: pd.DataFrame, run_id: str
) -> DetectionAcceptance:
    """Gate the auto-labels (one row per image) without the images the champion trained on,
    and build the accepted box sets."""
    in_sample = in_sample_items(spec, auto_labels)  # never calibrate on those
    result = run_detection_gate(auto_labels, reviewed, spec.gate, in_sample=in_sample)
    return DetectionAcceptance(
        result=result,
        accepted=accepted_boxes(auto_labels, reviewed, result, run_id),
        evidence=detection_evidence(auto_labels, reviewed, purposes=["calibration"]),
        in_sample_left_out=int(reviewed["item_id"].isin(in_sample).sum()),
        scores=scores_against_reviews(auto_labels, reviewed, spec.class_names),
    )
