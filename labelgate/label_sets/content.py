"""What a label set holds and how its content is fingerprinted.

The content hash covers what a label *is* (item, label or box set, source, reviewer, labeler
versions), not when or in which run it was computed, so re-running an unchanged project
produces the same hash and no new version. Text (and image classification) sets hold one
``label`` per item; detection sets hold a ``boxes`` list per item instead.
"""

import hashlib
import json
from typing import Any

import pandas as pd

from labelgate.accept import ACCEPTED_COLUMNS

LABEL_SET_COLUMNS = ACCEPTED_COLUMNS
CONTENT_COLUMNS = ["item_id", "label", "source", "reviewer", "labeler_versions"]
BOX_SET_COLUMNS = [  # a box label set is the accepted box sets (labelgate.images.gate)
    "item_id",
    "boxes",
    "n_boxes",
    "source",
    "confidence",
    "labeler_versions",
    "reviewer",
    "run_id",
]
BOX_CONTENT_COLUMNS = ["item_id", "boxes", "source", "reviewer", "labeler_versions"]


def holds_boxes(labels: pd.DataFrame) -> bool:
    """A detection set: a ``boxes`` column and no ``label`` column."""
    return "boxes" in labels.columns and "label" not in labels.columns


def canonical_boxes(boxes: Any) -> str:
    """A box list as stable text (keys sorted, coordinates rounded), whether it comes fresh
    from the pipeline (list of dicts) or back from Parquet (array of dicts)."""
    records = []
    for box in [] if boxes is None else list(boxes):
        records.append(
            {
                k: (round(float(v), 6) if k != "label" else str(v))
                for k, v in sorted(dict(box).items())
                if v is not None
            }
        )
    return json.dumps(records, sort_keys=True, separators=(",", ":"))


def normalize_labels(accepted: pd.DataFrame) -> pd.DataFrame:
    """The accepted labels in label-set form: fixed columns, one row per item, sorted."""
    columns = BOX_SET_COLUMNS if holds_boxes(accepted) else LABEL_SET_COLUMNS
    missing = [c for c in columns if c not in accepted.columns]
    if missing:
        raise ValueError(f"accepted labels lack column(s) {missing}")
    frame = accepted.loc[:, columns].drop_duplicates("item_id", keep="last")
    frame = frame.sort_values("item_id", kind="stable").reset_index(drop=True)
    return frame.astype({"confidence": "float64"})


def content_hash(labels: pd.DataFrame) -> str:
    """SHA-256 of the label content (see module docstring), independent of row order."""
    boxes = holds_boxes(labels)
    frame = labels.loc[:, BOX_CONTENT_COLUMNS if boxes else CONTENT_COLUMNS]
    frame = frame.sort_values("item_id", kind="stable")
    if boxes:
        frame = frame.assign(boxes=frame["boxes"].map(canonical_boxes))
    text = frame.fillna("").astype(str).to_csv(index=False, lineterminator="\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def class_counts(labels: pd.DataFrame) -> pd.Series:
    """Items per class (label sets) or boxes per class (box sets)."""
    if not holds_boxes(labels):
        return labels["label"].value_counts()
    names = [str(dict(b)["label"]) for bs in labels["boxes"] for b in ([] if bs is None else bs)]
    return pd.Series(names, dtype=str).value_counts()
