"""Detection labeling: detectors over image chunks → ``candidate_labels``; fused → ``auto_labels``.

``candidate_labels`` (detection) holds one row per item and source: its boxes (normalized
xyxy records, see :mod:`labelgate.images.boxes`) or, when the source failed on that image,
an empty box list and the ``error``. ``auto_labels`` holds one row per item that at least one
source labeled: the fused box set, the item confidence (see :mod:`labelgate.images.fusion`)
and the sources behind it.
"""

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from labelgate.images.boxes import Boxes
from labelgate.images.fusion import fuse_boxes
from labelgate.images.labelers import YoloDetector

BOX_TYPE = pa.struct(
    [
        ("label", pa.string()),
        ("x1", pa.float64()),
        ("y1", pa.float64()),
        ("x2", pa.float64()),
        ("y2", pa.float64()),
        ("confidence", pa.float64()),
    ]
)
BOXES_TYPE = pa.list_(BOX_TYPE)
DETECTION_CANDIDATE_SCHEMA = pa.schema(
    [
        ("item_id", pa.string()),
        ("labeler", pa.string()),
        ("labeler_version", pa.string()),
        ("boxes", BOXES_TYPE),
        ("error", pa.string()),  # null when the source labeled the image
        # project classes the source can produce (its ontology's targets); a source abstains
        # on the others. Missing (older files) or null: every class.
        ("classes", pa.list_(pa.string())),
    ]
)
AUTO_DETECTION_COLUMNS = [
    "item_id",
    "batch",
    "boxes",
    "n_boxes",
    "confidence",
    "max_dropped_confidence",
    "agreeing_sources",
    "labeler_versions",
]


def detection_stream(
    chunks: Iterable[pd.DataFrame], detectors: Sequence[YoloDetector]
) -> Iterator[pd.DataFrame]:
    """Candidate rows per chunk of items (columns ``item_id``, ``path``)."""
    for chunk in chunks:
        ids = chunk["item_id"].astype(str).tolist()
        paths = chunk["path"].astype(str).tolist()
        rows: list[dict[str, object]] = []
        for detector in detectors:
            sources, errors = detector.predict(paths)
            for source, per_image in sources.items():
                for item_id, boxes, error in zip(ids, per_image, errors, strict=True):
                    rows.append(
                        {
                            "item_id": item_id,
                            "labeler": source,
                            "labeler_version": detector.version,
                            "boxes": boxes.to_records() if boxes is not None else [],
                            "error": error or None,
                            "classes": detector.classes,
                        }
                    )
        yield pd.DataFrame(rows, columns=DETECTION_CANDIDATE_SCHEMA.names)


@dataclass
class DetectionStats:
    """Running counts over streamed candidate chunks."""

    items: int = 0
    boxes: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    first_errors: list[str] = field(default_factory=list)

    def add(self, frame: pd.DataFrame) -> None:
        self.items += frame["item_id"].nunique()
        for name, group in frame.groupby("labeler"):
            n = int(group["boxes"].map(len).sum())
            self.boxes[str(name)] = self.boxes.get(str(name), 0) + n
            failed = group["error"].notna()
            self.errors[str(name)] = self.errors.get(str(name), 0) + int(failed.sum())
            for item_id, error in zip(
                group["item_id"][failed], group["error"][failed], strict=True
            ):
                if len(self.first_errors) < 5:
                    self.first_errors.append(f"{item_id}: {error}")


def consolidate(candidates: pd.DataFrame, *, box_threshold: float, batch: str) -> pd.DataFrame:
    """One fused box set per item from every source that labeled it (``auto_labels``)."""
    ok = candidates[candidates["error"].isna()]
    versions = json.dumps(
        dict(sorted(zip(candidates["labeler"], candidates["labeler_version"], strict=True))),
        sort_keys=True,
    )
    if "classes" not in ok.columns:
        ok = ok.assign(classes=None)
    rows = []
    for item_id, group in ok.groupby("item_id", sort=False):
        sources = [
            (str(name), Boxes.from_records(boxes))
            for name, boxes in zip(group["labeler"], group["boxes"], strict=True)
        ]
        capable = [None if c is None else set(c) for c in group["classes"]]
        fused = fuse_boxes(sources, box_threshold=box_threshold, capable=capable)
        seen = sorted({name for names in fused.sources for name in names})
        blind = all(c is not None and not c for c in capable)  # no source knows any class
        rows.append(
            {
                "item_id": str(item_id),
                "batch": batch,
                "boxes": fused.kept.to_records(),
                "n_boxes": len(fused.kept),
                # blind: no evidence either way; a human must look (the gate never accepts it)
                "confidence": 0.0 if blind else fused.confidence,
                "max_dropped_confidence": 1.0
                if blind
                else float(fused.dropped.confidence.max())
                if len(fused.dropped)
                else 0.0,
                "agreeing_sources": ",".join(seen),
                "labeler_versions": versions,
            }
        )
    frame = pd.DataFrame(rows, columns=AUTO_DETECTION_COLUMNS)
    return frame.astype({"n_boxes": "int64", "confidence": "float64"})


def boxes_of(frame: pd.DataFrame) -> dict[str, Boxes]:
    """item_id → Boxes from a table with ``item_id`` and ``boxes`` columns."""
    return {
        str(item_id): Boxes.from_records(records)
        for item_id, records in zip(frame["item_id"], frame["boxes"], strict=True)
    }


def dominant_class(records: Sequence[dict[str, object]] | np.ndarray) -> str:
    """The most frequent class of a box set ('(none)' when empty): a stratum for sampling."""
    labels = [str(r["label"]) for r in records]
    if not labels:
        return "(none)"
    values, counts = np.unique(labels, return_counts=True)
    return str(values[np.argmax(counts)])
