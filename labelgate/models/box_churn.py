"""Churn of a detection re-label: an image churns when its fused box set no longer matches
the one before at IoU 0.5 (one-to-one, same class; :func:`labelgate.images.boxes.match_boxes`),
so a box that moved a few pixels or changed confidence is no churn, a box that appeared,
vanished, changed class or moved off its object is.

Per class, ``lost`` counts the old boxes left unmatched and ``gained`` the new ones. A human
box set is re-checked when the new box set does not match it. Whether the image's gate
decision changed is not part of churn: the gate runs after the re-label (the publish job),
and accepted_labels shows its outcome.

The state's ``label`` is the fused box set as JSON records (sorted, coordinates to 4
decimals) so it survives parquet; each source's vote is its box set the same way, so a
source whose boxes changed is named as a cause of a flip.
"""

import json
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from labelgate.images.boxes import MATCH_IOU, Boxes, match_boxes
from labelgate.images.label_sets import box_summary
from labelgate.models.churn import STATE_COLUMNS, ChurnKind

_DIGITS = 4


def _records(boxes: Any) -> list[dict[str, Any]]:
    rows = [] if boxes is None else [dict(b) for b in boxes]
    return sorted(
        (
            {k: (round(float(v), _DIGITS) if k != "label" else str(v)) for k, v in row.items()}
            for row in rows
        ),
        key=lambda r: (r["label"], r["x1"], r["y1"], r["x2"], r["y2"]),
    )


def boxes_json(boxes: Any) -> str:
    """A box set (records, or a parquet list of structs) as canonical JSON."""
    return json.dumps(_records(boxes), sort_keys=True)


def box_label_state(auto_labels: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    """``STATE_COLUMNS`` of a detection batch: the fused box set, each source's box set
    (null when it failed on the image) and version."""
    votes: dict[str, dict[str, str | None]] = {}
    versions: dict[str, dict[str, str]] = {}
    for item_id, labeler, version, boxes, error in zip(
        candidates["item_id"],
        candidates["labeler"],
        candidates["labeler_version"],
        candidates["boxes"],
        candidates["error"],
        strict=True,
    ):
        failed = isinstance(error, str) and bool(error)
        votes.setdefault(item_id, {})[labeler] = None if failed else boxes_json(boxes)
        versions.setdefault(item_id, {})[labeler] = str(version)
    auto = auto_labels.drop_duplicates("item_id", keep="last")
    ids = auto["item_id"].astype(str).tolist()
    return pd.DataFrame(
        {
            "item_id": ids,
            "label": [boxes_json(b) for b in auto["boxes"]],
            "votes": [json.dumps(votes.get(i, {}), sort_keys=True) for i in ids],
            "versions": [json.dumps(versions.get(i, {}), sort_keys=True) for i in ids],
        },
        columns=STATE_COLUMNS,
    )


def _boxes(label: str) -> Boxes:
    return Boxes.from_records(json.loads(label))


class BoxChurn(ChurnKind):
    """Box sets compared at ``iou`` (default 0.5)."""

    def __init__(self, iou: float = MATCH_IOU) -> None:
        self.iou = iou

    def changed(self, old: str, new: str) -> bool:
        return not match_boxes(_boxes(new), _boxes(old), iou=self.iou).exact

    def display(self, label: str) -> str:
        return box_summary(json.loads(label))

    def class_delta(self, old: str, new: str) -> dict[str, tuple[int, int]]:
        before, after = _boxes(old), _boxes(new)
        match = match_boxes(after, before, iou=self.iou)
        kept_new = np.ones(len(after), dtype=bool)
        kept_old = np.ones(len(before), dtype=bool)
        for p, t, _ in match.pairs:
            kept_new[p] = kept_old[t] = False
        lost = Counter(str(x) for x in before.labels[kept_old])
        gained = Counter(str(x) for x in after.labels[kept_new])
        return {c: (lost[c], gained[c]) for c in sorted(set(lost) | set(gained))}

    def human_labels(self, reviewed: pd.DataFrame) -> pd.Series:
        latest = reviewed.drop_duplicates("item_id", keep="last").set_index("item_id")
        return latest["boxes"].map(boxes_json)


BOX_CHURN = BoxChurn()
