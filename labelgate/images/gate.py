"""The detection gate and the accepted box sets.

Two criteria, chosen by ``gate.detection_criterion`` in the project file:

* ``box`` (default): box precision and recall of the accepted images, bounded with clustered
  Clopper–Pearson bounds, see :mod:`labelgate.images.box_gate`.
* ``exact``: whole images, below.

Per item, the evidence is whether its auto-label is *exactly right* against the reviewed
boxes: every auto box matched one-to-one to a reviewed box of the same class at IoU >= 0.5,
and no box extra or missing. An item is auto-accepted when every decision about its boxes
is at least as confident as the threshold (its item confidence, see
:mod:`labelgate.images.fusion`). The threshold comes from the same fixed-sequence
Clopper–Pearson scan as text (:func:`labelgate.gate.choose_threshold`), run on the reviewed
random calibration sample only.
"""

from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

from labelgate.accept import gate_on_evidence, unreviewed_confidence
from labelgate.gate import GateResult, auto_accept_mask
from labelgate.images.box_gate import BoxGateResult, box_evidence, box_gate, image_accept_mask
from labelgate.images.boxes import Boxes, DetectionScores, detection_scores, match_boxes
from labelgate.images.labeling import boxes_of
from labelgate.label_sets.content import BOX_SET_COLUMNS
from labelgate.spec import GateSpec

ACCEPTED_DETECTION_COLUMNS = BOX_SET_COLUMNS  # a box label set is the accepted box sets


def detection_evidence(
    auto_labels: pd.DataFrame, reviewed: pd.DataFrame, *, purposes: Sequence[str] | None = None
) -> pd.DataFrame:
    """Reviewed items (default: the calibration sample) with their auto-label's confidence
    and whether it is exactly right (``correct``) and how many boxes matched."""
    if purposes is not None:
        reviewed = reviewed[reviewed["purpose"].isin(list(purposes))]
    joined = reviewed[["item_id", "boxes"]].merge(
        auto_labels[["item_id", "boxes", "confidence"]], on="item_id", suffixes=("_human", "_auto")
    )
    correct = [
        match_boxes(Boxes.from_records(auto), Boxes.from_records(human)).exact
        for auto, human in zip(joined["boxes_auto"], joined["boxes_human"], strict=True)
    ]
    return joined.assign(correct=pd.Series(correct, index=joined.index, dtype=bool))


def run_detection_gate(
    auto_labels: pd.DataFrame,
    reviewed: pd.DataFrame,
    gate: GateSpec,
    *,
    in_sample: Collection[str] = (),
) -> GateResult | BoxGateResult:
    """The project's detection gate over its reviewed calibration images, leaving out the
    ``in_sample`` ones (a model that made their auto-label trained on them)."""
    if len(in_sample):
        reviewed = reviewed[~reviewed["item_id"].isin(set(in_sample))]
    if gate.detection_criterion == "box":
        return box_gate(
            box_evidence(auto_labels, reviewed),
            target_precision=gate.target_accuracy,
            target_recall=gate.recall_target,
            confidence_level=gate.confidence,
        )
    evidence = detection_evidence(auto_labels, reviewed, purposes=["calibration"])
    return gate_on_evidence(evidence, gate, unreviewed_confidence(auto_labels, reviewed))


def detection_accept_mask(
    auto_labels: pd.DataFrame, result: GateResult | BoxGateResult
) -> np.ndarray:
    """Auto-labels (rows) the gate lets through."""
    if isinstance(result, BoxGateResult):
        confidences = [Boxes.from_records(b).confidence for b in auto_labels["boxes"]]
        miss = auto_labels["max_dropped_confidence"].fillna(0.0).to_numpy(dtype=float)
        return image_accept_mask(confidences, miss, result)
    return auto_accept_mask(auto_labels["confidence"].to_numpy(dtype=float), result)


def accepted_boxes(
    auto_labels: pd.DataFrame,
    reviewed: pd.DataFrame,
    result: GateResult | BoxGateResult,
    run_id: str,
) -> pd.DataFrame:
    """Every reviewed box set (source ``human``) plus the auto box sets the gate lets through."""
    human = reviewed.merge(
        auto_labels[["item_id", "labeler_versions"]], on="item_id", how="left"
    ).assign(source="human", confidence=1.0, run_id=run_id)
    human["n_boxes"] = human["boxes"].map(len)
    pending = auto_labels[~auto_labels["item_id"].isin(reviewed["item_id"])]
    mask = detection_accept_mask(pending, result)
    auto = pending[mask].assign(source="auto", reviewer=None, run_id=run_id)
    frames = [f[ACCEPTED_DETECTION_COLUMNS] for f in (human, auto) if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ACCEPTED_DETECTION_COLUMNS})
    frame = pd.concat(frames, ignore_index=True)
    return frame.astype({"confidence": "float64", "n_boxes": "int64"})


def scores_against_reviews(
    auto_labels: pd.DataFrame, reviewed: pd.DataFrame, class_names: Sequence[str]
) -> DetectionScores | None:
    """mAP50, mAP50-95 and mean IoU of the auto-labels on every reviewed item (None: none)."""
    both = sorted(set(auto_labels["item_id"]) & set(reviewed["item_id"]))
    if not both:
        return None
    auto, human = boxes_of(auto_labels), boxes_of(reviewed)
    return detection_scores([auto[i] for i in both], [human[i] for i in both], class_names)
