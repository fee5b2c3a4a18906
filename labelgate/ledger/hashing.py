"""Canonical JSON and the row hash of the ledger's chain.

A row's hash covers every column a reader relies on (sequence number, time, event, item,
run, actor, payload) and the previous row's hash, so changing, reordering or deleting a row
breaks every hash after it.
"""

import hashlib
import json
import math
from typing import Any

# The stored columns a row's hash covers, in its order (the previous row's hash comes last).
HASHED_COLUMNS = ("project", "seq", "at", "event", "item_id", "run_id", "actor", "payload")


def _normalize(value: Any) -> Any:
    """Plain JSON types only; NaN and infinities become null so the text is standard JSON."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {str(k): _normalize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalize(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        return _normalize(value.item())
    return value


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(_normalize(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(
    *,
    project: str,
    seq: int,
    at: str,
    event: str,
    item_id: str | None,
    run_id: str | None,
    actor: str | None,
    payload: str,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of one ledger row; ``payload`` is its canonical JSON text."""
    body = canonical_json([project, seq, at, event, item_id, run_id, actor, payload, prev_hash])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def stored_row_hash(row: Any, *, prev_hash: str) -> str:
    """The hash a stored ``ledger_events`` row must have when it follows ``prev_hash``."""
    stored = {column: getattr(row, column) for column in HASHED_COLUMNS}
    return row_hash(**{**stored, "seq": int(row.seq)}, prev_hash=prev_hash)
