"""Where a project's tables live: one Parquet file per (asset, partition), written atomically.

Layout: ``{root}/{asset}/{partition}.parquet``; unpartitioned assets use ``_all.parquet``.
A write goes to a temporary file in the same folder, is fsynced, then renamed over the
target, so a reader never sees half a table and a crash leaves the previous version intact.
"""

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

UNPARTITIONED = "_all"
_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=-]{0,199}$")


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


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
        self, asset: str, partition: str | None, empty: pd.DataFrame
    ) -> Iterator["TableWriter"]:
        """Write a table chunk by chunk; it replaces the old one only when the block ends.

        ``empty`` fixes the columns (and dtypes) when no chunk is written at all.
        """
        target = self.path(asset, partition)
        with atomic_path(target) as tmp:
            writer = TableWriter(tmp)
            try:
                yield writer
                writer.flush()
                if writer.rows == 0 and writer.writer is None:
                    empty.to_parquet(tmp, index=False)
            finally:
                writer.close()

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

    def row_count(self, asset: str, partition: str | None = None) -> int:
        return int(pq.ParquetFile(self.path(asset, partition)).metadata.num_rows)

    def exists(self, asset: str, partition: str | None = None) -> bool:
        return self.path(asset, partition).is_file()

    def read(self, asset: str, partition: str | None = None) -> pd.DataFrame:
        path = self.path(asset, partition)
        if not path.is_file():
            raise FileNotFoundError(f"no table for {asset!r} partition {partition!r} at {path}")
        return pd.read_parquet(path)

    def partitions(self, asset: str) -> list[str]:
        folder = self.root / asset
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.glob("*.parquet") if p.stem != UNPARTITIONED)

    def read_all(self, asset: str, partitions: list[str] | None = None) -> pd.DataFrame:
        """Concatenate the given (default: all stored) partitions of an asset."""
        keys = self.partitions(asset) if partitions is None else partitions
        frames = [self.read(asset, key) for key in keys if self.exists(asset, key)]
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)


def _untyped(dtype: pa.DataType) -> bool:
    """A column with only nulls so far (or lists of nothing) has no type to write yet."""
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return _untyped(dtype.value_type)
    return pa.types.is_null(dtype)


class TableWriter:
    """Appends DataFrame chunks of one schema to a Parquet file (see ``TableStore.stream``).

    The file's schema is fixed by the first chunks; while a column holds only nulls its type is
    unknown, so chunks are held back until every column has one (or ``flush`` is called).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer: pq.ParquetWriter | None = None
        self.rows = 0
        self._pending: list[pa.Table] = []

    def write(self, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        self.rows += len(frame)
        if self.writer is None:
            self._pending.append(table)
            schema = self._pending_schema()
            if not any(_untyped(f.type) for f in schema):
                self._open(schema)
            return
        if table.schema != self.writer.schema:
            table = table.cast(self.writer.schema)
        self.writer.write_table(table)

    def _pending_schema(self) -> pa.Schema:
        schemas = [t.schema for t in self._pending]
        return pa.unify_schemas(schemas, promote_options="permissive")

    def _open(self, schema: pa.Schema) -> None:
        self.writer = pq.ParquetWriter(self.path, schema)
        pending, self._pending = self._pending, []
        for table in pending:
            self.writer.write_table(table.cast(schema))

    def flush(self) -> None:
        """Write chunks still held back; columns that never got a value keep the null type."""
        if self.writer is None and self._pending:
            self._open(self._pending_schema())

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
