"""What ``verify`` checks beyond the chain and the files: the governance state beside it.

- commit markers (``ledger_commits``) against their ``data_committed`` rows: an edited,
  added or deleted marker is named;
- the erasure list (``erasures``) against the ``erasure_listed`` / ``item_erased`` rows, and
  every erased item absent everywhere erasure removes it from: table partitions, imported
  reviews, the review-queue files, the embedding and score caches, and label sets created
  after its erasure;
- the signed anchors (``labelgate.ledger.anchor``): every anchored row exists with the
  anchored hash and the head is anchored.
"""

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

from labelgate.label_sets.store import LABELS_FILE, set_dir_name
from labelgate.ledger import Ledger
from labelgate.ledger.anchor import AnchorError
from labelgate.ledger.events import (
    DATA_COMMITTED,
    ERASURE_LISTED,
    ITEM_ERASED,
    LABEL_SET_CREATED,
)

if TYPE_CHECKING:
    from labelgate.spec import ProjectSpec

_SHOWN = 5  # problems of one kind named one by one; the rest counted


def _capped(problems: list[str], what: str) -> list[str]:
    if len(problems) <= _SHOWN:
        return problems
    return [*problems[:_SHOWN], f"... and {len(problems) - _SHOWN} more {what}"]


def commit_problems(ledger: Ledger) -> list[str]:
    latest = {}
    for event in ledger.events(event=DATA_COMMITTED):
        latest[(event.payload.get("kind"), event.payload.get("key"))] = event
    problems = []
    markers = {(c.kind, c.key): c for c in ledger.commits()}
    for (kind, key), commit in markers.items():
        event = latest.get((kind, key))
        where = f"ledger: the commit marker of {kind} {key}"
        if event is None:
            problems.append(
                f"{where} (row {commit.seq}) has no data_committed row in the chain (the "
                "marker was added or edited outside labelgate)"
            )
            continue
        recorded = (event.payload.get("sha256"), event.payload.get("path"), event.seq)
        if (commit.sha256, commit.path, commit.seq) != recorded:
            problems.append(
                f"{where} says SHA-256 {commit.sha256[:12]} at row {commit.seq}, its "
                f"data_committed row {event.seq} says {str(recorded[0])[:12]} (the marker was "
                "edited)"
            )
    for (kind, key), event in latest.items():
        if (kind, key) not in markers:
            problems.append(
                f"ledger: the commit marker of {kind} {key} recorded at row {event.seq} is "
                "missing (deleted from ledger_commits)"
            )
    return _capped(problems, "commit-marker problems")


def _parquet_hits(paths: Iterable[Path], items: set[str]) -> dict[str, list[str]]:
    hits: dict[str, list[str]] = {}
    for path in paths:
        try:
            schema = pq.read_schema(path)
            if "item_id" not in schema.names:
                continue
            column = pq.read_table(path, columns=["item_id"]).column("item_id").to_pylist()
        except Exception as exc:  # an unreadable file is a finding, not a crash
            hits.setdefault(f"unreadable ({exc.__class__.__name__})", []).append(str(path))
            continue
        for item in items.intersection(str(i) for i in column):
            hits.setdefault(item, []).append(str(path))
    return hits


def _text_hits(paths: Iterable[Path], items: set[str]) -> dict[str, list[str]]:
    hits: dict[str, list[str]] = {}
    for path in paths:
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            for item in items:
                if item in text:
                    hits.setdefault(item, []).append(str(path))
    return hits


def _cache_hits(paths: Iterable[Path], items: set[str]) -> dict[str, list[str]]:
    hits: dict[str, list[str]] = {}
    marks = ",".join("?" * len(items))
    for db in paths:
        if not db.is_file():
            continue
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=60) as conn:
            query = "SELECT name FROM sqlite_master WHERE type='table'"
            for (table,) in conn.execute(query).fetchall():
                columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
                if "item_id" not in columns:
                    continue
                found = conn.execute(
                    f'SELECT DISTINCT item_id FROM "{table}" WHERE item_id IN ({marks})',
                    sorted(items),
                )
                for (item,) in found:
                    hits.setdefault(str(item), []).append(f"{db} ({table})")
    return hits


def erasure_problems(spec: "ProjectSpec", ledger: Ledger) -> list[str]:
    events = ledger.events(event=[ERASURE_LISTED, ITEM_ERASED])
    chained = {e.item_id: e.seq for e in events if e.item_id is not None}
    erased_at = {e.item_id: e.seq for e in events if e.event == ITEM_ERASED and e.item_id}
    listed = ledger.erasure_list()
    problems = [
        f"ledger: item {item} was erased (row {seq}) but is missing from the erasures table "
        "(the row was deleted; its text could come back on the next ingest)"
        for item, seq in sorted(chained.items())
        if item not in listed
    ]
    problems += [
        f"ledger: the erasures table lists item {item} (row {seq}) without an erasure row in "
        "the chain (added outside labelgate)"
        for item, seq in sorted(listed.items())
        if item not in chained
    ]
    if not erased_at:
        return _capped(problems, "erasure-list problems")
    items = set(erased_at)
    from labelgate.project import ProjectData

    data = ProjectData(spec)
    reviews = [data.reviews.imported_dir, spec.project_dir / "box_reviews" / "imported"]
    hits = _parquet_hits(sorted(data.tables.root.glob("*/*.parquet")), items)
    for folder in reviews:
        for item, where in _parquet_hits(sorted(folder.glob("*.parquet")), items).items():
            hits.setdefault(item, []).extend(where)
    queue = [data.queue_dir / "review_queue.csv", data.queue_dir / "label_studio_tasks.json"]
    caches = [spec.storage / "_cache" / "embeddings.sqlite"]
    caches.append(spec.project_dir / "models" / "scores.sqlite")
    for found in (_text_hits(queue, items), _cache_hits(caches, items)):
        for item, where in found.items():
            hits.setdefault(item, []).extend(where)
    root = spec.project_dir / "label_sets"
    for event in ledger.events(event=LABEL_SET_CREATED):
        later = {i for i, seq in erased_at.items() if seq < event.seq}
        path = root / set_dir_name(int(event.payload["version"])) / LABELS_FILE
        if later and path.is_file():
            for item, where in _parquet_hits([path], later).items():
                hits.setdefault(item, []).extend(where)
    for item, where in sorted(hits.items()):
        if item.startswith("unreadable"):
            problems.append(f"erasure check: {item}: {', '.join(where[:3])}")
        else:
            problems.append(
                f"item {item} was erased (ledger row {erased_at[item]}) but is still in "
                f"{', '.join(sorted(set(where))[:3])}"
            )
    return _capped(problems, "erasure problems")


def anchor_problems(ledger: Ledger) -> list[str]:
    anchor = ledger.anchor
    if anchor is None:
        return []
    last = ledger.last_seq()
    try:
        entries, problems = anchor.entries(ledger.project)
    except AnchorError as exc:
        return [str(exc)]
    if not entries:
        if last:
            problems.append(
                f"anchor: the ledger has rows up to {last} but {anchor.file} holds no signed "
                f"anchor of project {ledger.project} (the anchor file was deleted or replaced)"
            )
        return problems
    hashes = ledger.hashes_at([e.seq for e in entries])
    wrong = []
    for entry in entries:
        where = f"anchor line {entry.line} (row {entry.seq}, signed {entry.at})"
        if entry.seq not in hashes:
            wrong.append(
                f"{where}: the ledger has no row {entry.seq}, it ends at row {last} (rows were "
                "deleted from the end and the head set back)"
            )
        elif hashes[entry.seq] != entry.hash:
            wrong.append(
                f"{where}: ledger row {entry.seq} has hash {hashes[entry.seq][:12]}, the anchor "
                f"{entry.hash[:12]} (the chain was rewritten and re-hashed)"
            )
    problems += _capped(wrong, "anchors that do not match")
    anchored = max(e.seq for e in entries)
    if last > anchored:
        problems.append(
            f"anchor: ledger rows {anchored + 1}..{last} come after the last signed anchor "
            f"(row {anchored}): appended without the project key, or by a run killed between "
            "its commit and its anchor (then the next commit anchors them)"
        )
    return problems
