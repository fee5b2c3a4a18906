"""Drift of a labeled batch against the project's latest approved label set.

Text and image classification compare one label per item; detection compares the class
distribution of the boxes (an image holds any number, ``baseline_items`` then counts boxes)
and the images' confidence.
"""

from collections.abc import Iterable
from typing import Any

import pandas as pd

from labelgate.drift import DriftResult, check_drift
from labelgate.images.project import project_data
from labelgate.label_sets import LabelSetStore
from labelgate.models.config import DriftSpec
from labelgate.spec import ProjectSpec


def _labels(frame: pd.DataFrame) -> list[str]:
    """One label per row, or every box's class when the rows hold box sets."""
    if "boxes" not in frame.columns:
        return frame["label"].astype(str).tolist()
    box_sets: Iterable[Any] = frame["boxes"]
    return [str(dict(b)["label"]) for boxes in box_sets if boxes is not None for b in boxes]


def batch_drift(spec: ProjectSpec, batch: pd.DataFrame) -> DriftResult:
    """``batch``: auto_labels rows of one batch. The baseline is the approved set's class
    distribution and the mean auto-label confidence of its items (their current auto_labels),
    so both sides' confidences come from the same label model (or box fusion)."""
    bounds = spec.training.drift if spec.training else DriftSpec()
    per_item = "boxes" not in batch.columns
    labels = _labels(batch)
    confidence = batch["confidence"].astype(float).tolist()
    approved = LabelSetStore(spec).latest(status="approved")
    if approved is None:
        return check_drift(
            labels, confidence, None, None, spec.class_names, bounds, per_item=per_item
        )
    approved_labels = approved.labels()
    auto = project_data(spec).auto_labels()
    baseline_confidence = (
        auto[auto["item_id"].isin(approved_labels["item_id"])]
        .drop_duplicates("item_id", keep="last")["confidence"]
        .tolist()
        if len(auto)
        else None
    )
    return check_drift(
        labels,
        confidence,
        _labels(approved_labels),
        baseline_confidence or None,
        spec.class_names,
        bounds,
        per_item=per_item,
    )
