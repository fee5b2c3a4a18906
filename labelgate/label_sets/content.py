"""What a label set holds and how its content is fingerprinted.

The content hash covers what a label *is* (item, label, source, reviewer, labeler versions),
not when or in which run it was computed, so re-running an unchanged project produces the
same hash and no new version.
"""

import hashlib

import pandas as pd

from labelgate.accept import ACCEPTED_COLUMNS

LABEL_SET_COLUMNS = ACCEPTED_COLUMNS
CONTENT_COLUMNS = ["item_id", "label", "source", "reviewer", "labeler_versions"]


def normalize_labels(accepted: pd.DataFrame) -> pd.DataFrame:
    """The accepted labels in label-set form: fixed columns, one row per item, sorted."""
    missing = [c for c in LABEL_SET_COLUMNS if c not in accepted.columns]
    if missing:
        raise ValueError(f"accepted labels lack column(s) {missing}")
    frame = accepted.loc[:, LABEL_SET_COLUMNS].drop_duplicates("item_id", keep="last")
    frame = frame.sort_values("item_id", kind="stable").reset_index(drop=True)
    return frame.astype({"confidence": "float64"})


def content_hash(labels: pd.DataFrame) -> str:
    """SHA-256 of the label content (see module docstring), independent of row order."""
    frame = labels.loc[:, CONTENT_COLUMNS].sort_values("item_id", kind="stable")
    text = frame.fillna("").astype(str).to_csv(index=False, lineterminator="\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
