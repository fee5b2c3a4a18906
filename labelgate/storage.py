"""Where a project's tables live: one Parquet file per (asset, partition), written atomically.

Layout: ``{root}/{asset}/{partition}.parquet``; unpartitioned assets use ``_all.parquet``.
A write goes to a temporary file in the same folder, is fsynced, then renamed over the
target, so a reader never sees half a table and a crash leaves the previous version intact.
A temporary file's name carries its writer (``{host}~{pid}``), so crash recovery can delete
the ones whose writer is gone without touching a live writer's.
"""

import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

UNPARTITIONED = "_all"
_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=-]{0,199}$")
_HOST = re.sub(r"[^A-Za-z0-9-]+", "-", socket.gethostname())[:60] or "host"
FOREIGN_TEMP_GRACE_S = 3600  # a temp file of another host is left alone this long


def owner_tag() -> str:
    """Who writes a temporary file: this host and process."""
    return f"{_HOST}~{os.getpid()}"


def temp_prefix(target: Path) -> str:
    """``mkstemp`` prefix of a temporary file for ``target``: ``.{name}.{host}~{pid}.``"""
    return f".{target.name}.{owner_tag()}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def orphaned(temp: Path, owner: str | None = None) -> bool:
    """True when the process that wrote ``temp`` is gone: it ran on this host and no longer
    exists, or the file is of an unknown or foreign writer and old. ``owner`` defaults to
    the ``{host}~{pid}`` in a name made with :func:`temp_prefix`."""
    if owner is None:
        parts = temp.name.rsplit(".", 3)  # [".{name}", "{host}~{pid}", random, "tmp"]
        owner = parts[1] if len(parts) == 4 else ""
    host, _, pid = owner.rpartition("~")
    if host == _HOST and pid.isdigit():
        return int(pid) != os.getpid() and not _alive(int(pid))
    try:
        return time.time() - temp.stat().st_mtime > FOREIGN_TEMP_GRACE_S
    except FileNotFoundError:
        return False


@contextmanager
def temp_beside(target: Path) -> Iterator[Path]:
    """Yield a new empty temporary file beside ``target`` (its folder created), removed
    afterwards unless it was renamed away."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(target), suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` atomically."""
    with temp_beside(target) as tmp:
        yield tmp
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (a crash right after must not undo it)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text_atomic(target: Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


class TableStore:
    """Parquet tables of one project, addressed by asset name and partition key."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, asset: str, partition: str | None = None) -> Path:
        if partition is not None and not _SAFE_KEY.match(partition):
            raise ValueError(f"partition key {partition!r} is not a safe file name")
        return self.root / asset / f"{partition or UNPARTITIONED}.parquet"

    def write(self, asset: str, frame: pd.DataFrame, partition: str | None = None) -> Path:
        target = self.path(asset, partition)
        with atomic_path(target) as tmp:
            frame.to_parquet(tmp, index=False)
        return target

    @contextmanager
    def stream(
        self, asset: str, partition: str | None, schema: pa.Schema
    ) -> Iterator["TableWriter"]:
        """Write a table of ``schema`` chunk by chunk; it replaces the old one only when the
        block ends without an error."""
        target = self.path(asset, partition)
        with atomic_path(target) as tmp, closing(TableWriter(tmp, schema)) as writer:
            yield writer

    def iter_chunks(
        self,
        asset: str,
        partition: str | None = None,
        *,
        columns: list[str] | None = None,
        chunk_size: int = 4096,
    ) -> Iterator[pd.DataFrame]:
        """Read a table a chunk at a time, so memory does not grow with its length."""
        path = self.path(asset, partition)
        if not path.is_file():
            raise FileNotFoundError(f"no table for {asset!r} partition {partition!r} at {path}")
        parquet = pq.ParquetFile(path)
        for batch in parquet.iter_batches(batch_size=chunk_size, columns=columns):
            yield batch.to_pandas()

    def remove_orphaned_temp_files(self) -> list[Path]:
        """Delete temporary files that crashed writers left in the table folders."""
        removed = []
        for temp in sorted(self.root.glob("*/.*.tmp")) if self.root.is_dir() else []:
            if orphaned(temp):
                temp.unlink(missing_ok=True)
                removed.append(temp)
        return removed

    def row_count(self, asset: str, partition: str | None = None) -> int:
        return int(pq.ParquetFile(self.path(asset, partition)).metadata.num_rows)

    def exists(self, asset: str, partition: str | None = None) -> bool:
        return self.path(asset, partition).is_file()

    def read(
        self, asset: str, partition: str | None = None, *, columns: list[str] | None = None
    ) -> pd.DataFrame:
        path = self.path(asset, partition)
        if not path.is_file():
            raise FileNotFoundError(f"no table for {asset!r} partition {partition!r} at {path}")
        return pd.read_parquet(path, columns=columns)

    def partitions(self, asset: str) -> list[str]:
        folder = self.root / asset
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.glob("*.parquet") if p.stem != UNPARTITIONED)

    def read_all(
        self,
        asset: str,
        partitions: list[str] | None = None,
        *,
        columns: list[str] | None = None,
    ) -> pd.DataFrame:
        """Concatenate the given (default: all stored) partitions of an asset (``columns``:
        only those, so a wide column such as ``probs`` is never read)."""
        keys = self.partitions(asset) if partitions is None else partitions
        frames = [self.read(asset, key, columns=columns) for key in keys if self.exists(asset, key)]
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)


class TableWriter:
    """Appends DataFrame chunks to a Parquet file of a fixed schema (see ``TableStore.stream``).

    The schema is given up front, so a chunk whose column holds only nulls (a labeler that
    abstained on every item of it) is written as the right type and nothing is held back.
    """

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self.writer: pq.ParquetWriter | None = pq.ParquetWriter(path, schema)
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        missing = [name for name in self.schema.names if name not in frame.columns]
        if missing:
            raise ValueError(f"chunk lacks column(s) {missing} of the table schema")
        table = pa.Table.from_pandas(frame[self.schema.names], preserve_index=False)
        if self.writer is None:
            raise ValueError(f"writer for {self.path} is closed")
        self.writer.write_table(table.cast(self.schema))
        self.rows += len(frame)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
