"""Right to erasure: remove an item's content everywhere it is stored, keep the record.

``erase_item`` drops the item's rows from every table partition (raw_items, candidate,
auto, reviewed and accepted labels, the review queue, any other table with an item_id),
from the imported review files and the review queue files, and its embeddings from the
cache; each rewritten file is written atomically.
The ledger gets an ``item_erased`` row (the item id, the reason, what was removed; never
the content), the item goes on the erasure list that ingestion and label-set publishing
consult, and models trained on it are marked stale. Past label-set versions are immutable
and hold no text; the next version leaves the item out.
"""

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from labelgate.csv_safety import write_csv
from labelgate.errors import LabelgateError
from labelgate.ids import sha256_file
from labelgate.ledger import Ledger
from labelgate.ledger.commit import TABLE_KIND, table_key
from labelgate.ledger.events import ITEM_ERASED, MODEL_MARKED_STALE
from labelgate.project import (
    CANDIDATE_LABELS,
    RAW_ITEMS,
    ProjectData,
)
from labelgate.storage import atomic_path

if TYPE_CHECKING:
    from labelgate.spec import ProjectSpec

LEDGERED_TABLES = (RAW_ITEMS, CANDIDATE_LABELS)


class ErasureError(LabelgateError):
    """The item cannot be erased (unknown id, empty reason)."""


@dataclass
class ErasureResult:
    item_id: str
    removed: dict[str, int] = field(default_factory=dict)  # where -> rows removed
    stale_models: list[str] = field(default_factory=list)
    seq: int = 0


def _rewrite_without(
    path: Path, frame: pd.DataFrame, item_id: str, write: Callable[[pd.DataFrame, Path], None]
) -> int:
    """Write ``frame`` (read from ``path``) back there without the item's rows, with
    ``write``; the number of rows removed (nothing is written when there are none)."""
    if "item_id" not in frame.columns:
        return 0
    mask = frame["item_id"] == item_id
    if not mask.any():
        return 0
    with atomic_path(path) as tmp:
        write(frame[~mask], tmp)
    return int(mask.sum())


def _rewrite_parquet(path: Path, item_id: str) -> int:
    return _rewrite_without(
        path, pd.read_parquet(path), item_id, lambda kept, tmp: kept.to_parquet(tmp, index=False)
    )


def _rewrite_csv(path: Path, item_id: str) -> int:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    # a reviewer-facing file: formula cells stay defused
    return _rewrite_without(path, frame, item_id, write_csv)


def _rewrite_tasks_json(path: Path, item_id: str) -> int:
    import json

    tasks = json.loads(path.read_text(encoding="utf-8"))
    kept = [t for t in tasks if t.get("data", {}).get("item_id") != item_id]
    if len(kept) == len(tasks):
        return 0
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(kept, ensure_ascii=False, indent=1), encoding="utf-8")
    return len(tasks) - len(kept)


def _erase_cached_vectors(paths: list[Path], item_id: str) -> int:
    """Delete the item from embedding/score caches (SQLite tables keyed by item id)."""
    removed = 0
    for db in paths:
        if not db.is_file():
            continue
        with sqlite3.connect(db, timeout=60) as conn:
            query = "SELECT name FROM sqlite_master WHERE type='table'"
            for (table,) in conn.execute(query).fetchall():
                columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
                if "item_id" in columns:
                    cursor = conn.execute(f'DELETE FROM "{table}" WHERE item_id = ?', (item_id,))
                    removed += cursor.rowcount
    return removed


def _mark_models_stale(spec: "ProjectSpec", item_id: str, reason: str) -> list[str]:
    try:
        from labelgate.models.registry import ModelRegistry
    except ModuleNotFoundError:  # projects without the models package train no models
        return []
    return list(ModelRegistry(spec).mark_stale_for_items([item_id], reason))


def erase_item(
    spec: "ProjectSpec", item_id: str, *, reason: str, actor: str | None = None
) -> ErasureResult:
    if not reason.strip():
        raise ErasureError("an erasure needs a reason (e.g. the request's reference)")
    data = ProjectData(spec)
    ledger = Ledger.for_project(spec)
    known = item_id in data.item_ids() or bool(ledger.events(item_id=item_id))
    if not known:
        raise ErasureError(f"project {spec.name} has no item {item_id!r}")
    result = ErasureResult(item_id)
    # 1. the erasure list first: from now on nothing re-ingests or publishes the item
    with ledger.transaction() as tx:
        tx.add_erasure(item_id, actor=actor)
    # 2. content out of every table, queue and cache (each file rewritten atomically)
    for path in sorted(data.tables.root.glob("*/*.parquet")):  # every table, every partition
        removed = _rewrite_parquet(path, item_id)
        if removed:
            result.removed[f"{path.parent.name}/{path.stem}"] = removed
    box_reviews = spec.project_dir / "box_reviews" / "imported"
    for folder in (data.reviews.imported_dir, box_reviews):
        for path in sorted(folder.glob("*.parquet")) if folder.is_dir() else []:
            removed = _rewrite_parquet(path, item_id)
            if removed:
                result.removed[f"{folder.parent.name}/{path.name}"] = removed
    queue_csv = data.queue_dir / "review_queue.csv"
    if queue_csv.is_file() and (removed := _rewrite_csv(queue_csv, item_id)):
        result.removed["queue/review_queue.csv"] = removed
    tasks = data.queue_dir / "label_studio_tasks.json"
    if tasks.is_file() and (removed := _rewrite_tasks_json(tasks, item_id)):
        result.removed["queue/label_studio_tasks.json"] = removed
    from labelgate.build import embedding_cache_path  # imports the encoders: only here

    caches = [embedding_cache_path(spec), spec.project_dir / "models" / "scores.sqlite"]
    if removed := _erase_cached_vectors(caches, item_id):
        result.removed["embedding_cache"] = removed
    # 3. models that learned from it
    result.stale_models = _mark_models_stale(spec, item_id, f"item {item_id} erased: {reason}")
    # 4. the record: what was removed (never the content), new commit markers for the
    #    rewritten ledgered tables so verify keeps matching them
    with ledger.transaction() as tx:
        row = tx.append(
            ITEM_ERASED,
            {"reason": reason, "removed": result.removed, "stale_models": result.stale_models},
            item_id=item_id,
            actor=actor,
        )
        for model_id in result.stale_models:
            tx.append(
                MODEL_MARKED_STALE,
                {"model_id": model_id, "reason": f"trained on erased item {item_id}"},
                item_id=item_id,
                actor=actor,
            )
        for table in LEDGERED_TABLES:
            for key in data.tables.partitions(table):
                if f"{table}/{key}" in result.removed:
                    path = data.tables.path(table, key)
                    tx.set_commit(TABLE_KIND, table_key(table, key), sha256_file(path), str(path))
    assert row is not None
    result.seq = row.seq
    return result
