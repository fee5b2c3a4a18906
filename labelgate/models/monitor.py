"""Drift of a labeled batch against the project's latest approved label set."""

import pandas as pd

from labelgate.drift import DriftResult, check_drift
from labelgate.label_sets import LabelSetStore
from labelgate.models.config import DriftSpec
from labelgate.project import ProjectData
from labelgate.spec import ProjectSpec


def batch_drift(spec: ProjectSpec, batch: pd.DataFrame) -> DriftResult:
    """``batch``: auto_labels rows of one batch. The baseline is the approved set's class
    distribution and the mean auto-label confidence of its items (their current auto_labels),
    so both sides' confidences come from the same label model."""
    bounds = spec.training.drift if spec.training else DriftSpec()
    approved = LabelSetStore(spec).latest(status="approved")
    if approved is None:
        return check_drift(
            batch["label"].tolist(), batch["confidence"].tolist(), None, None,
            spec.class_names, bounds,
        )  # fmt: skip
    labels = approved.labels()
    auto = ProjectData(spec).auto_labels()
    confidence = (
        auto[auto["item_id"].isin(labels["item_id"])]
        .drop_duplicates("item_id", keep="last")["confidence"]
        .tolist()
        if len(auto)
        else None
    )
    return check_drift(
        batch["label"].tolist(),
        batch["confidence"].tolist(),
        labels["label"].tolist(),
        confidence or None,
        spec.class_names,
        bounds,
    )
