"""Keep erased items out of a re-ingest of their source file (the erasure list wins)."""

from dataclasses import replace

from labelgate.ingest import IngestResult


def drop_erased(result: IngestResult, erased: set[str]) -> tuple[IngestResult, int]:
    """``result`` without erased items, and how many were dropped.

    Afterwards ``seen == kept + duplicates + quarantined + erased`` for the batch.
    """
    if not erased:
        return result, 0
    mask = result.items["item_id"].isin(erased)
    dropped = int(mask.sum())
    items = result.items[~mask].reset_index(drop=True)
    return replace(result, items=items, kept=result.kept - dropped), dropped
