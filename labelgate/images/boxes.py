"""Boxes of one image: representation, table records, matching, and detection metrics.

Conventions: coordinates are normalized ``x1, y1, x2, y2`` in [0, 1] (image width and height
are 1), so boxes do not depend on how an image was resized. A box has a class name and a
confidence (1.0 for human boxes). In Parquet a box set is a list of records
``{label, x1, y1, x2, y2, confidence}``.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

BOX_FIELDS = ("label", "x1", "y1", "x2", "y2", "confidence")
MATCH_IOU = 0.5


@dataclass(frozen=True)
class Boxes:
    """M boxes: ``xyxy`` (M, 4) normalized, ``labels`` (M,), ``confidence`` (M,)."""

    xyxy: np.ndarray
    labels: np.ndarray
    confidence: np.ndarray

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float64).reshape(-1, 4)
        labels = np.asarray(self.labels, dtype=object).reshape(-1)
        confidence = np.asarray(self.confidence, dtype=np.float64).reshape(-1)
        if not len(xyxy) == len(labels) == len(confidence):
            raise ValueError(
                f"boxes need as many labels and confidences as boxes: "
                f"{len(xyxy)}, {len(labels)}, {len(confidence)}"
            )
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "confidence", confidence)

    def __len__(self) -> int:
        return len(self.xyxy)

    @classmethod
    def empty(cls) -> "Boxes":
        return cls(np.zeros((0, 4)), np.zeros(0, dtype=object), np.zeros(0))

    def subset(self, mask: np.ndarray) -> "Boxes":
        return Boxes(self.xyxy[mask], self.labels[mask], self.confidence[mask])

    def to_records(self) -> list[dict[str, Any]]:
        return [
            {
                "label": str(label),
                "x1": float(box[0]),
                "y1": float(box[1]),
                "x2": float(box[2]),
                "y2": float(box[3]),
                "confidence": float(conf),
            }
            for box, label, conf in zip(self.xyxy, self.labels, self.confidence, strict=True)
        ]

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]] | None) -> "Boxes":
        rows = list(records) if records is not None else []
        if not rows:
            return cls.empty()
        return cls(
            np.array([[r["x1"], r["y1"], r["x2"], r["y2"]] for r in rows], dtype=np.float64),
            np.array([str(r["label"]) for r in rows], dtype=object),
            np.array([float(r.get("confidence", 1.0)) for r in rows], dtype=np.float64),
        )


def validate_box(x1: float, y1: float, x2: float, y2: float) -> str | None:
    """Why a normalized box is unusable, or None."""
    values = (x1, y1, x2, y2)
    if not all(np.isfinite(values)):
        return "a coordinate is not a finite number"
    if min(values) < -1e-6 or max(values) > 1 + 1e-6:
        return "a coordinate lies outside the image"
    if x2 <= x1 or y2 <= y1:
        return "the box has no area (x2 <= x1 or y2 <= y1)"
    return None


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) intersection over union of two xyxy arrays."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


@dataclass(frozen=True)
class Match:
    """One-to-one matching of predicted to true boxes of one image."""

    pairs: list[tuple[int, int, float]]  # (predicted index, true index, IoU)
    false_positives: int
    false_negatives: int

    @property
    def exact(self) -> bool:
        """Every box matched with the right class, nothing extra, nothing missed."""
        return self.false_positives == 0 and self.false_negatives == 0


def match_boxes(predicted: Boxes, truth: Boxes, *, iou: float = MATCH_IOU) -> Match:
    """Greedy matching, most confident prediction first, same class and IoU >= ``iou``."""
    overlaps = iou_matrix(predicted.xyxy, truth.xyxy)
    same_class = predicted.labels[:, None] == truth.labels[None, :]
    overlaps = np.where(same_class, overlaps, 0.0)
    taken: set[int] = set()
    pairs: list[tuple[int, int, float]] = []
    for p in np.argsort(-predicted.confidence, kind="stable"):
        candidates = [(overlaps[p, t], t) for t in range(len(truth)) if t not in taken]
        best = max(candidates, default=(0.0, -1))
        if best[1] >= 0 and best[0] >= iou:
            taken.add(best[1])
            pairs.append((int(p), int(best[1]), float(best[0])))
    return Match(pairs, len(predicted) - len(pairs), len(truth) - len(pairs))


@dataclass(frozen=True)
class DetectionScores:
    images: int
    map50: float | None  # None: undefined (no true box of any class)
    map50_95: float | None
    mean_iou: float | None  # over matched boxes at IoU >= 0.5
    exact_images: int  # images whose boxes all match, nothing extra or missed

    def to_metadata(self) -> dict[str, float | int | None]:
        return {
            "images": self.images,
            "map50": None if self.map50 is None else round(self.map50, 4),
            "map50_95": None if self.map50_95 is None else round(self.map50_95, 4),
            "mean_iou": None if self.mean_iou is None else round(self.mean_iou, 4),
            "exact_images": self.exact_images,
        }


def detection_scores(
    predicted: Sequence[Boxes], truth: Sequence[Boxes], class_names: Sequence[str]
) -> DetectionScores:
    """mAP50 and mAP50-95 (supervision's COCO-style metric), mean IoU and exact images."""
    import supervision as sv
    from supervision.metrics import MeanAveragePrecision

    if len(predicted) != len(truth):
        raise ValueError(f"{len(predicted)} predicted images but {len(truth)} true ones")
    index = {name: i for i, name in enumerate(class_names)}

    def detections(boxes: Boxes, with_confidence: bool) -> "sv.Detections":
        unknown = sorted({str(label) for label in boxes.labels} - set(index))
        if unknown:
            raise ValueError(f"box label(s) {unknown} are not classes {list(class_names)}")
        return sv.Detections(
            xyxy=boxes.xyxy.astype(np.float32) * 1000.0,  # any common scale will do
            class_id=np.array([index[str(label)] for label in boxes.labels], dtype=int),
            confidence=boxes.confidence.astype(np.float32) if with_confidence else None,
        )

    metric = MeanAveragePrecision()
    metric.update([detections(p, True) for p in predicted], [detections(t, False) for t in truth])
    result = metric.compute()
    matches = [match_boxes(p, t) for p, t in zip(predicted, truth, strict=True)]
    ious = [iou for match in matches for _, _, iou in match.pairs]
    return DetectionScores(
        images=len(truth),
        map50=_defined(result.map50),
        map50_95=_defined(result.map50_95),
        mean_iou=float(np.mean(ious)) if ious else None,
        exact_images=sum(match.exact for match in matches),
    )


def _defined(value: float) -> float | None:
    """supervision reports -1 for a metric it cannot compute (no ground truth)."""
    return None if float(value) < 0 else float(value)
