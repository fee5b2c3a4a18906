"""Ledger rows of detection candidates: one ``label_proposed`` row per (image, source), as text
records one per (item, labeler). The payload holds the boxes (class and normalized corners,
4 decimals) and a one-line summary in ``label``; never image content."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from labelgate.images.label_sets import box_summary
from labelgate.ledger import LedgerRow
from labelgate.ledger.events import LABEL_PROPOSED

_DIGITS = 4


def detection_candidate_rows(path: Path, batch: str) -> Iterator[LedgerRow]:
    """``label_proposed`` rows for a detection candidate_labels file, streamed."""
    columns = ["item_id", "labeler", "labeler_version", "boxes", "error"]
    for record in pq.ParquetFile(path).iter_batches(batch_size=2048, columns=columns):
        for item, labeler, version, boxes, error in zip(
            *(record.column(c).to_pylist() for c in columns), strict=True
        ):
            payload: dict[str, Any] = {
                "batch": batch,
                "labeler": labeler,
                "labeler_version": version,
                "label": box_summary(boxes),
                "boxes": [
                    {k: (round(v, _DIGITS) if isinstance(v, float) else v) for k, v in b.items()}
                    for b in boxes or []
                ],
                "error": error,
            }
            yield (LABEL_PROPOSED, payload, item, f"proposed:{item}:{labeler}:{version}")
