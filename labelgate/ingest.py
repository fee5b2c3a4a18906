"""Text ingestion: source files → batches → clean items plus a quarantine with reasons.

Every source file is one batch (a Dagster dynamic partition). Counts are conserved:
``seen == kept + duplicates + quarantined`` for every batch. A file that cannot be read at
all (empty, truncated, not the format its name says, hidden, a link out of the source
folder, a name clashing with another file's batch key) is one quarantined row with
``source_row == WHOLE_FILE_ROW``: it is counted, and never stops the run.
"""

import csv
import dataclasses
import hashlib
import io
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from labelgate.errors import SourceError
from labelgate.ids import sha256_file, text_item_id
from labelgate.source_guard import (
    clean_reason,
    file_problem,
    has_lone_surrogate,
    is_invisible,
    safe_text,
    settle_key_clashes,
)
from labelgate.spec import SourceSpec
from labelgate.text import normalize_text

SUFFIX_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
ITEM_COLUMNS = ["item_id", "text", "batch", "source_file", "source_row", "source_id"]
QUARANTINE_COLUMNS = ["batch", "source_file", "source_row", "reason", "excerpt"]
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # long texts are quarantined, not fatal
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes escaped by surrogateescape
_BOM = b"\xef\xbb\xbf"
_INTERNAL = frozenset({"__row", "__bad_encoding", "__bad_json", "__bad_row"})  # reader flags
WHOLE_FILE_ROW = -1  # source_row of the one quarantine row of a file that cannot be read


class UnreadableFile(Exception):
    """A source file cannot be read at all; the message is the quarantine reason."""


@dataclass(frozen=True)
class Batch:
    key: str
    path: Path
    format: str
    problem: str | None = None  # why the file must not be read (it is quarantined whole)


@dataclass(frozen=True)
class IngestResult:
    items: pd.DataFrame
    quarantine: pd.DataFrame
    seen: int
    kept: int
    duplicates: int
    source_sha256: str

    @property
    def quarantined(self) -> int:
        return len(self.quarantine)


class FirstCopies:
    """A batch's items in order, one per ``item_id`` (a content hash): the first copy is kept,
    later copies are only counted."""

    def __init__(self) -> None:
        self.items: list[dict[str, object]] = []
        self.duplicates = 0
        self._ids: set[str] = set()

    def add(self, item: dict[str, object]) -> None:
        item_id = str(item["item_id"])
        if item_id in self._ids:
            self.duplicates += 1
            return
        self._ids.add(item_id)
        self.items.append(item)


def batch_key(path: Path) -> str:
    """Partition key of a source file: its name made safe for a file name and a Dagster key."""
    key = _KEY_UNSAFE.sub("_", path.name).strip("_.=-") or "batch"  # starts alphanumeric
    return key[:200]


def discover_batches(source: SourceSpec) -> list[Batch]:
    """The source files of a project, in key order; unknown file types are ignored.

    Hidden files, links leading out of the folder and files whose name maps to another
    file's batch key are batches too, carrying the ``problem`` they are quarantined for.
    """
    if not source.path.is_dir():
        raise SourceError(f"source folder {source.path} does not exist or is not a folder")
    found = []
    for path in sorted(source.path.iterdir()):
        fmt = SUFFIX_FORMATS.get(path.suffix.lower())
        if fmt is None or fmt not in source.formats or path.is_dir():
            continue
        found.append(Batch(batch_key(path), path, fmt, file_problem(path, source.path)))
    batches = settle_key_clashes(
        found,
        key=lambda b: b.key,
        name=lambda b: b.path.name,
        healthy=lambda b: b.problem is None,
        rename=lambda b, key, reason: dataclasses.replace(b, key=key, problem=b.problem or reason),
    )
    keys = [b.key for b in batches]
    clashes = sorted({k for k in keys if keys.count(k) > 1})
    if clashes:
        raise SourceError(f"source files map to the same batch key(s) {clashes}; rename them")
    return sorted(batches, key=lambda b: b.key)


def _read_csv_rows(path: Path) -> pd.DataFrame:
    """One record per CSV row, numbered by the file line it starts on (the header is line 1).

    One bad row quarantines that row, not the file: undecodable bytes are escaped to lone
    surrogates that mark their row, a row whose field count differs from the header's is
    flagged, and so is malformed quoting (a quote left open swallows the lines after it
    into one cell: that record is flagged instead of silently merging rows). Quoted cells
    may span lines; blank lines are not rows.
    """
    text = path.read_bytes().decode("utf-8-sig", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise UnreadableFile(f"the header line is not readable CSV: {exc}") from None
    if header is None:
        raise UnreadableFile("empty file: no header line")
    if any(_UNDECODABLE.search(name) for name in header):
        raise UnreadableFile("the header line is not valid UTF-8 (another encoding, or binary)")
    if "\0" in "".join(header):
        raise UnreadableFile("the header line holds NUL bytes (a binary file)")
    records: list[dict[str, object]] = []
    line = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            start, line = line + 1, reader.line_num
            reason = f"malformed CSV quoting in lines {start}-{line} ({exc}); not read"
            records.append({"__row": start, "__bad_row": reason})
            continue
        start, line = line + 1, reader.line_num
        if not cells:
            continue
        record: dict[str, object] = {"__row": start}
        if any(_UNDECODABLE.search(cell) for cell in cells):
            record["__bad_encoding"] = True
        elif len(cells) != len(header):
            record["__bad_row"] = f"has {len(cells)} fields but the header has {len(header)}"
        else:
            record.update((k, v) for k, v in zip(header, cells, strict=True) if k not in _INTERNAL)
        records.append(record)
    columns = list(dict.fromkeys(name for name in header if name not in _INTERNAL))
    frame = pd.DataFrame(records, columns=[*columns, "__row"], dtype=object)
    for flag, default in (("__bad_encoding", False), ("__bad_row", None)):
        column = [r.get(flag, default) for r in records]
        frame[flag] = pd.Series(column, dtype=object)
    frame["__row"] = frame["__row"].astype("int64")
    return frame


def _read_jsonl_rows(path: Path) -> pd.DataFrame:
    records: list[dict] = []
    for number, line in enumerate(path.read_bytes().split(b"\n"), start=1):
        line = line.removeprefix(_BOM)  # a byte-order mark is not part of the row
        if not line.strip():
            continue
        try:
            value = json.loads(line.decode("utf-8"))
            record = (
                {k: v for k, v in value.items() if k not in _INTERNAL}
                if isinstance(value, dict)
                else {"__bad_json": "row is not an object"}
            )
        except UnicodeDecodeError:
            record = {"__bad_encoding": True}
        except json.JSONDecodeError as exc:
            record = {"__bad_json": f"invalid JSON: {exc.msg}"}
        except ValueError as exc:  # e.g. an integer of more digits than Python converts
            record = {"__bad_json": f"unreadable JSON value: {exc}"}
        except RecursionError:
            record = {"__bad_json": "invalid JSON: nested too deeply"}
        record["__row"] = number
        records.append(record)
    frame = pd.DataFrame(records, dtype=object)  # no int → float upcast of ids
    if "__bad_encoding" not in frame:
        frame["__bad_encoding"] = False
    frame["__bad_encoding"] = frame["__bad_encoding"].fillna(False).astype(bool)
    return frame


def _read_rows(batch: Batch) -> pd.DataFrame:
    """The file's records; :class:`UnreadableFile` when it cannot be read at all."""
    try:
        if batch.format == "csv":
            return _read_csv_rows(batch.path)
        if batch.format == "jsonl":
            return _read_jsonl_rows(batch.path)
        # Nullable integer columns (ids) stay integers instead of becoming floats.
        frame = pq.read_table(batch.path).to_pandas(integer_object_nulls=True)
        frame = frame.drop(columns=[c for c in frame.columns if c in _INTERNAL])
        frame["__row"] = range(len(frame))
        frame["__bad_encoding"] = False
        return frame
    except (OSError, ValueError, TypeError, pd.errors.ParserError) as exc:
        raise UnreadableFile(f"cannot be read as {batch.format}: {exc}") from exc


def _excerpt(value: object, limit: int = 80) -> str:
    text = "" if value is None else str(value)
    return safe_text(text[:limit])


def _source_id(value: object) -> str | None:
    """The source's own id as text; a missing or blank id is null (never "nan")."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value) or None


def _file_sha256(batch: Batch) -> str:
    """The file's content hash; a file that must not be opened (or cannot be) is named by
    its name and problem instead, so its quarantine row stays unique."""
    if batch.problem is None:
        try:
            return sha256_file(batch.path)
        except OSError:
            pass
    marker = f"unreadable:{batch.path.name}:{batch.problem}"
    return hashlib.sha256(marker.encode("utf-8", "surrogateescape")).hexdigest()


def quarantine_whole_file(batch: Batch, reason: str) -> IngestResult:
    """The file as one quarantined row (``source_row == WHOLE_FILE_ROW``) with its reason."""
    row = {
        "batch": batch.key,
        "source_file": safe_text(str(batch.path)),
        "source_row": WHOLE_FILE_ROW,
        "reason": clean_reason(f"file not ingested: {reason}"),
        "excerpt": _excerpt(batch.path.name),
    }
    return IngestResult(
        items=pd.DataFrame(columns=ITEM_COLUMNS).astype({"source_row": "int64"}),
        quarantine=pd.DataFrame([row], columns=QUARANTINE_COLUMNS).astype({"source_row": "int64"}),
        seen=1,
        kept=0,
        duplicates=0,
        source_sha256=_file_sha256(batch),
    )


def ingest_batch(batch: Batch, source: SourceSpec) -> IngestResult:
    """Read one source file into normalized, de-duplicated items and a quarantine."""
    if batch.problem is not None:
        return quarantine_whole_file(batch, batch.problem)
    try:
        rows = _read_rows(batch)
    except UnreadableFile as exc:
        return quarantine_whole_file(batch, str(exc))
    seen = len(rows)
    text_col, id_col = source.text_column, source.id_column
    kept = FirstCopies()
    quarantine: list[dict] = []
    has_text = text_col in rows.columns
    for record in rows.to_dict("records"):
        row_number = int(record["__row"])

        def reject(reason: str, value: object = "", _row: int = row_number) -> None:
            quarantine.append(
                {
                    "batch": batch.key,
                    "source_file": safe_text(str(batch.path)),
                    "source_row": _row,
                    "reason": clean_reason(reason),
                    "excerpt": _excerpt(value),
                }
            )

        if record.get("__bad_encoding"):
            reject("not valid UTF-8")
            continue
        if isinstance(record.get("__bad_json"), str):
            reject(record["__bad_json"])
            continue
        if isinstance(record.get("__bad_row"), str):
            reject(record["__bad_row"])
            continue
        value = record.get(text_col) if has_text else None
        if not has_text or value is None or (isinstance(value, float) and pd.isna(value)):
            reject(f"missing column {text_col!r}")
            continue
        if not isinstance(value, str):
            reject(f"column {text_col!r} is not text ({type(value).__name__})", value)
            continue
        if has_lone_surrogate(value):
            reject(f"column {text_col!r} is not valid Unicode (a lone surrogate)", value)
            continue
        text = normalize_text(value)
        if not text:
            reject("empty text", value)
            continue
        if is_invisible(text):
            reject("text has no visible characters (only zero-width, control or NUL)", value)
            continue
        if len(text) > source.max_chars:
            reject(f"text longer than {source.max_chars} characters ({len(text)})", value)
            continue
        source_id = _source_id(record.get(id_col)) if id_col else None
        if source_id is not None and has_lone_surrogate(source_id):
            reject(f"column {id_col!r} is not valid Unicode (a lone surrogate)", value)
            continue
        kept.add(
            {
                "item_id": text_item_id(text),
                "text": text,
                "batch": batch.key,
                "source_file": safe_text(str(batch.path)),
                "source_row": row_number,
                "source_id": source_id,
            }
        )
    items_frame = pd.DataFrame(kept.items, columns=ITEM_COLUMNS).astype({"source_row": "int64"})
    quarantine_frame = pd.DataFrame(quarantine, columns=QUARANTINE_COLUMNS).astype(
        {"source_row": "int64"}
    )
    result = IngestResult(
        items=items_frame,
        quarantine=quarantine_frame,
        seen=seen,
        kept=len(items_frame),
        duplicates=kept.duplicates,
        source_sha256=_file_sha256(batch),
    )
    assert result.seen == result.kept + result.duplicates + result.quarantined
    return result


def drop_known_items(result: IngestResult, known_item_ids: set[str]) -> IngestResult:
    """Treat items already ingested in an earlier batch as duplicates (ids are content hashes)."""
    mask = result.items["item_id"].isin(known_item_ids)
    dropped = int(mask.sum())
    return IngestResult(
        items=result.items[~mask].reset_index(drop=True),
        quarantine=result.quarantine,
        seen=result.seen,
        kept=result.kept - dropped,
        duplicates=result.duplicates + dropped,
        source_sha256=result.source_sha256,
    )
