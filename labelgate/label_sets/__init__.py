"""Audited label sets: immutable, versioned snapshots of the accepted labels."""

from labelgate.label_sets.content import content_hash, normalize_labels
from labelgate.label_sets.publish import PublishResult, publish_label_set
from labelgate.label_sets.store import (
    DATASHEET_FILE,
    LABELS_FILE,
    MANIFEST_FILE,
    LabelSet,
    LabelSetError,
    LabelSetStore,
)

__all__ = [
    "DATASHEET_FILE",
    "LABELS_FILE",
    "MANIFEST_FILE",
    "LabelSet",
    "LabelSetError",
    "LabelSetStore",
    "PublishResult",
    "content_hash",
    "normalize_labels",
    "publish_label_set",
]
