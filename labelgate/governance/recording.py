"""What the pipeline's stages write to the ledger: one row per item ingested or quarantined,
label proposed, review decision; one per threshold chosen. Rows never hold item text.

Every row carries a dedup key, so recording the same fact twice (a re-run, a retry after a
crash) appends it once.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from labelgate.ledger import Ledger, LedgerRow
from labelgate.ledger.events import (
    ITEM_INGESTED,
    ITEM_QUARANTINED,
    LABEL_PROPOSED,
    REVIEW_DECISION,
    THRESHOLD_CHOSEN,
)

_PROB_DIGITS = 4


def _source_place(row: Any, source_sha256: str) -> dict[str, Any]:
    """Where a source row came from: its batch, file, row number and the file's content hash."""
    return {
        "batch": row.batch,
        "source_file": row.source_file,
        "source_row": int(row.source_row),
        "source_sha256": source_sha256,
    }


def ingest_rows(items: pd.DataFrame, source_sha256: str) -> list[LedgerRow]:
    return [
        (
            ITEM_INGESTED,
            {**_source_place(row, source_sha256), "source_id": row.source_id},
            row.item_id,
            f"ingested:{row.item_id}:{source_sha256}",
        )
        for row in items.itertuples(index=False)
    ]


def quarantine_rows(quarantine: pd.DataFrame, source_sha256: str) -> list[LedgerRow]:
    """The reason and place of each rejected row; not its excerpt (that is content)."""
    return [
        (
            ITEM_QUARANTINED,
            {**_source_place(row, source_sha256), "reason": row.reason},
            None,
            _quarantine_key(row.batch, int(row.source_row), source_sha256),
        )
        for row in quarantine.itertuples(index=False)
    ]


def _quarantine_key(batch: str, source_row: int, source_sha256: str) -> str:
    """A quarantined row is one fact per file content and row; a whole unreadable file
    (negative row) per batch too, since two empty files share their content hash."""
    key = f"quarantined:{source_sha256}:{source_row}"
    return key if source_row >= 0 else f"{key}:{batch}"


def candidate_rows(path: Path, batch: str) -> Iterator[LedgerRow]:
    """``label_proposed`` rows for every (item, labeler) of a candidate_labels file, streamed
    so that recording a batch of any size takes constant memory."""
    columns = ["item_id", "labeler", "labeler_version", "label", "confidence", "probs"]
    for record in pq.ParquetFile(path).iter_batches(batch_size=8192, columns=columns):
        for item, labeler, version, label, conf, probs in zip(
            *(record.column(c).to_pylist() for c in columns), strict=True
        ):
            payload: dict[str, Any] = {
                "batch": batch,
                "labeler": labeler,
                "labeler_version": version,
                "label": label,
                "confidence": None if conf is None or conf != conf else round(conf, 6),
                "probs": [round(p, _PROB_DIGITS) for p in probs or []],
            }
            yield (LABEL_PROPOSED, payload, item, f"proposed:{item}:{labeler}:{version}")


def review_keys(reviews: pd.DataFrame) -> list[str]:
    """Dedup keys of review rows: ``review:{file sha}:{item}`` for an item's first review in
    a file, with ``:{reviewer}`` appended for every further reviewer of the same item, so a
    second reviewer giving the same answer is recorded too."""
    first = ~reviews.duplicated(["review_file_sha256", "item_id"], keep="first")
    return [
        f"review:{sha}:{item}" if is_first else f"review:{sha}:{item}:{who}"
        for sha, item, who, is_first in zip(
            reviews["review_file_sha256"],
            reviews["item_id"],
            reviews["reviewer"],
            first,
            strict=True,
        )
    ]


def review_rows(reviews: pd.DataFrame) -> list[LedgerRow]:
    """``review_decision`` rows for every imported review (all of them, not only the latest)."""
    keys = reviews["_key"] if "_key" in reviews.columns else review_keys(reviews)
    return [
        (
            REVIEW_DECISION,
            {
                "label": row.label,
                "reviewer": row.reviewer,
                "purpose": row.purpose,
                "reviewed_at": row.reviewed_at,
                "review_file": Path(row.review_file).name,
                "review_file_sha256": row.review_file_sha256,
            },
            row.item_id,
            key,
        )
        for row, key in zip(reviews.itertuples(index=False), keys, strict=True)
    ]


def record_reviews(ledger: Ledger, reviews: pd.DataFrame, *, run_id: str | None) -> int:
    """Append the review decisions not yet in the ledger (reconciles after a crash)."""
    if len(reviews):
        reviews = reviews.assign(_key=review_keys(reviews))
    by_reviewer = reviews.groupby("reviewer", sort=True) if len(reviews) else []
    appended = 0
    with ledger.transaction() as tx:
        for reviewer, group in by_reviewer:
            appended += len(tx.append_many(review_rows(group), run_id=run_id, actor=reviewer))
    return appended


def record_threshold(
    ledger: Ledger,
    gate: dict[str, Any],
    *,
    run_id: str,
    accepted: pd.DataFrame,
) -> None:
    """The threshold the gate chose in ``run_id``, its evidence and what it admitted."""
    evidence = {k: v for k, v in gate.items() if k != "scan"}
    evidence["scan"] = gate.get("scan", [])[:200]
    ledger.append(
        THRESHOLD_CHOSEN,
        {
            **evidence,
            "accepted": len(accepted),
            "auto_accepted": int((accepted["source"] == "auto").sum()),
            "human": int((accepted["source"] == "human").sum()),
        },
        run_id=run_id,
        dedup_key=f"threshold:{run_id}",
    )
