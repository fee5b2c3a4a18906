"""Consolidate several sources' boxes of one image into one box set (weighted box fusion).

Boxes of all sources are clustered per class by IoU (supervision's non-max merge groups);
each cluster becomes one box whose coordinates are the confidence-weighted mean of its
members and whose confidence is the sum of each source's best confidence in the cluster
divided by the number of sources *that can produce its class*, so a box only one of two
detectors saw keeps half its confidence, while a detector whose ontology maps to none of a
class abstains on that class instead of voting "nothing here". With one source the boxes pass
through unchanged.

An item's confidence is the least certain of its decisions: the lowest confidence of a box
it keeps (is that object really there?) and one minus the highest confidence of a box it
drops (is there an object it missed?). "Every box's confidence >= t" then admits an image only
when both hold at level t.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from labelgate.images.boxes import Boxes

FUSION_IOU = 0.55


@dataclass(frozen=True)
class Fused:
    kept: Boxes  # the label: fused boxes with confidence >= the box threshold
    dropped: Boxes  # fused boxes below it
    confidence: float  # the item's confidence (see the module docstring)
    sources: list[list[str]]  # per kept box, the sources that saw it


def fuse_boxes(
    sources: Sequence[tuple[str, Boxes]],
    *,
    box_threshold: float,
    iou: float = FUSION_IOU,
    capable: Sequence[Collection[str] | None] | None = None,
) -> Fused:
    """Fuse ``(source name, boxes)`` pairs of one image; keep boxes >= ``box_threshold``.

    ``capable``: per source, the project classes it can produce (None: every class)."""
    if not sources:
        raise ValueError("fuse_boxes needs at least one source")
    can = list(capable) if capable is not None else [None] * len(sources)
    if len(can) != len(sources):
        raise ValueError(f"{len(sources)} sources but {len(can)} capability sets")
    names = [name for name, _ in sources]
    xyxy = np.concatenate([b.xyxy for _, b in sources])
    labels = np.concatenate([b.labels for _, b in sources])
    conf = np.concatenate([b.confidence for _, b in sources])
    origin = np.concatenate([np.full(len(b), i) for i, (_, b) in enumerate(sources)]).astype(int)
    if len(sources) == 1:
        groups = [[i] for i in range(len(xyxy))]
    else:
        groups = _clusters(xyxy, labels, conf, iou)
    fused_xyxy, fused_labels, fused_conf, seen_by = [], [], [], []
    for group in groups:
        members = np.asarray(group)
        weights = conf[members]
        fused_xyxy.append((xyxy[members] * weights[:, None]).sum(0) / max(weights.sum(), 1e-12))
        fused_labels.append(labels[members[0]])
        best = {}
        for m in members:  # a source counts once per cluster, with its best box
            best[origin[m]] = max(best.get(origin[m], 0.0), float(conf[m]))
        label = str(labels[members[0]])
        voters = sum(1 for i, c in enumerate(can) if c is None or label in c or i in best)
        fused_conf.append(sum(best.values()) / voters)
        seen_by.append(sorted(names[s] for s in best))
    fused = Boxes(
        np.array(fused_xyxy).reshape(-1, 4),
        np.array(fused_labels, dtype=object),
        np.array(fused_conf),
    )
    keep = fused.confidence >= box_threshold
    kept, dropped = fused.subset(keep), fused.subset(~keep)
    order = np.argsort(-kept.confidence, kind="stable")
    kept = kept.subset(order)
    sources_kept = [seen_by[i] for i in np.flatnonzero(keep)[order]]
    return Fused(kept, dropped, item_confidence(kept, dropped), sources_kept)


def item_confidence(kept: Boxes, dropped: Boxes) -> float:
    """min(lowest kept confidence, 1 - highest dropped confidence); 1.0 with neither."""
    there = float(kept.confidence.min()) if len(kept) else 1.0
    missed = 1.0 - float(dropped.confidence.max()) if len(dropped) else 1.0
    return float(np.clip(min(there, missed), 0.0, 1.0))


def _clusters(
    xyxy: np.ndarray, labels: np.ndarray, conf: np.ndarray, iou: float
) -> list[list[int]]:
    """Index groups of same-class boxes that overlap at IoU >= ``iou``."""
    from supervision.detection.utils.iou_and_nms import box_non_max_merge  # slow import

    groups: list[list[int]] = []
    for label in dict.fromkeys(labels.tolist()):
        members = np.flatnonzero(labels == label)
        predictions = np.column_stack([xyxy[members], conf[members]])
        for group in box_non_max_merge(predictions, iou_threshold=iou):
            groups.append([int(members[i]) for i in group])
    return groups
