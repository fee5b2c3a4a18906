"""Drift of a new batch against the approved label set.

Two signals: the class distribution of the batch's labels against the approved labels'
(total variation distance, 0 = same, 1 = disjoint), and the batch's mean label confidence
against the mean confidence of the approved items' labels. When either moves past the
project's bound, the batch's auto-labels are not to be trusted blindly: the gate was proven
on data that looked different.

For detection the labels are the boxes' classes (an image holds any number) and the
confidences the images' (one per image): ``per_item=False``.
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from labelgate.models.config import DriftSpec


@dataclass(frozen=True)
class DriftResult:
    passed: bool
    reason: str
    items: int
    baseline_items: int
    class_shift: float | None
    confidence_drop: float | None
    batch_mean_confidence: float | None
    baseline_mean_confidence: float | None
    batch_distribution: dict[str, float]
    baseline_distribution: dict[str, float]
    max_class_shift: float
    max_confidence_drop: float

    def to_dict(self) -> dict:
        return asdict(self)


def distribution(labels: Sequence[str], class_names: list[str]) -> np.ndarray:
    counts = np.array([sum(1 for label in labels if label == c) for c in class_names], float)
    return counts / counts.sum() if counts.sum() else counts


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    return float(0.5 * np.abs(np.asarray(p) - np.asarray(q)).sum())


def check_drift(
    batch_labels: Sequence[str],
    batch_confidence: Sequence[float],
    baseline_labels: Sequence[str] | None,
    baseline_confidence: Sequence[float] | None,
    class_names: list[str],
    bounds: DriftSpec,
    *,
    per_item: bool = True,
) -> DriftResult:
    """Compare a batch with the approved set; ``baseline_*`` None: nothing approved yet.
    ``per_item``: one label per item, aligned with the confidences (else labels of boxes)."""
    if per_item and len(batch_labels) != len(batch_confidence):
        raise ValueError("batch labels and confidences differ in length")
    items = len(batch_confidence)
    batch_p = distribution(batch_labels, class_names)
    common = {
        "items": items,
        "max_class_shift": bounds.max_class_shift,
        "max_confidence_drop": bounds.max_confidence_drop,
        "batch_distribution": dict(zip(class_names, np.round(batch_p, 4).tolist(), strict=True)),
    }
    if baseline_labels is None or not len(baseline_labels):
        return DriftResult(
            True, "no approved label set to compare with yet", baseline_items=0,
            class_shift=None, confidence_drop=None, batch_mean_confidence=None,
            baseline_mean_confidence=None, baseline_distribution={}, **common,
        )  # fmt: skip
    base_p = distribution(baseline_labels, class_names)
    shift = total_variation(batch_p, base_p)
    batch_mean = float(np.mean(batch_confidence)) if len(batch_confidence) else None
    base_mean = (
        float(np.mean(baseline_confidence))
        if baseline_confidence is not None and len(baseline_confidence)
        else None
    )
    drop = None if batch_mean is None or base_mean is None else base_mean - batch_mean
    problems = []
    if items < bounds.min_items:
        reason = f"{items} items, fewer than drift.min_items={bounds.min_items}"
        passed = True
    else:
        if shift > bounds.max_class_shift:
            problems.append(
                f"class distribution moved {shift:.3f} (total variation) > {bounds.max_class_shift}"
            )
        if drop is not None and drop > bounds.max_confidence_drop:
            problems.append(
                f"mean confidence fell {drop:.3f} ({base_mean:.3f} -> {batch_mean:.3f}) > "
                f"{bounds.max_confidence_drop}"
            )
        passed = not problems
        reason = "; ".join(problems) or "within bounds"
    return DriftResult(
        passed,
        reason,
        baseline_items=len(baseline_labels),
        class_shift=round(shift, 6),
        confidence_drop=None if drop is None else round(drop, 6),
        batch_mean_confidence=batch_mean,
        baseline_mean_confidence=base_mean,
        baseline_distribution=dict(zip(class_names, np.round(base_p, 4).tolist(), strict=True)),
        **common,
    )
