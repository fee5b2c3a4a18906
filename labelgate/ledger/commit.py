"""Write a table file and the ledger rows that describe it as one unit.

1. The file is written to a temporary name beside its target, fsynced, and renamed to a
   *staged* name that carries its SHA-256: ``.{name}.{sha256}.staged``.
2. One locked ledger transaction appends the rows (skipping those whose dedup key is already
   recorded) and sets the commit marker ``(kind, key) -> sha256``. This is the commit point.
3. The staged file is renamed over the target.

A crash before 2 leaves a staged file without a marker: ``recover_tables`` deletes it and
the previous file stays. A crash between 2 and 3 leaves a marker whose staged file is still
there: ``recover_tables`` renames it into place (roll forward). Re-running the asset
re-applies the same rows, which the dedup keys turn into no-ops, so nothing is duplicated
or lost whichever way the run ends.

``LABELGATE_CRASH_TEST_DELAY`` (seconds, tests only) sleeps after every written chunk and
between the commit and the rename, so a test can kill a run at those points.
"""

import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from itertools import islice
from pathlib import Path

import pandas as pd
import pyarrow as pa

from labelgate.ids import sha256_file
from labelgate.ledger.core import Ledger, LedgerRow
from labelgate.storage import TableStore, TableWriter, fsync_dir, temp_beside

CRASH_TEST_DELAY_ENV = "LABELGATE_CRASH_TEST_DELAY"
TABLE_KIND = "table"

RowsFromFile = Callable[[Path], Iterable[LedgerRow]]
# Rows are appended in slices of this many inside the one transaction, so a file of any
# length is recorded in constant memory.
APPEND_SLICE = 8192


def _test_delay() -> None:
    delay = float(os.environ.get(CRASH_TEST_DELAY_ENV) or 0)
    if delay > 0:
        time.sleep(delay)


def table_key(asset: str, partition: str | None) -> str:
    return f"{asset}/{partition or '_all'}"


def staged_path(target: Path, sha256: str) -> Path:
    return target.with_name(f".{target.name}.{sha256}.staged")


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def commit_file(
    ledger: Ledger,
    tmp: Path,
    target: Path,
    key: str,
    rows_from_file: RowsFromFile,
    run_id: str | None,
    *,
    kind: str = TABLE_KIND,
) -> int:
    """Steps 1-3 of the module docstring for a finished file ``tmp``; returns the number of
    ledger rows appended."""
    _fsync(tmp)
    sha = sha256_file(tmp)
    staged = staged_path(target, sha)
    os.replace(tmp, staged)
    fsync_dir(target.parent)
    appended = 0
    with ledger.transaction() as tx:
        # the rows describe exactly what was written
        rows = iter(rows_from_file(staged))
        while chunk := list(islice(rows, APPEND_SLICE)):
            appended += len(tx.append_many(chunk, run_id=run_id))
        tx.set_commit(kind, key, sha, str(target))
    _test_delay()
    os.replace(staged, target)
    fsync_dir(target.parent)
    return appended


@contextmanager
def ledgered_stream(
    ledger: Ledger,
    store: TableStore,
    asset: str,
    partition: str | None,
    schema: pa.Schema,
    rows_from_file: RowsFromFile,
    *,
    run_id: str | None = None,
) -> Iterator[TableWriter]:
    """``TableStore.stream`` whose result commits together with its ledger rows."""
    target = store.path(asset, partition)
    with temp_beside(target) as tmp:
        with closing(_DelayedWriter(tmp, schema)) as writer:
            yield writer
        writer.appended = commit_file(
            ledger, tmp, target, table_key(asset, partition), rows_from_file, run_id
        )


def ledgered_write(
    ledger: Ledger,
    store: TableStore,
    asset: str,
    frame: pd.DataFrame,
    partition: str | None,
    rows_from_file: RowsFromFile,
    *,
    run_id: str | None = None,
) -> tuple[Path, int]:
    """``TableStore.write`` whose result commits together with its ledger rows; returns the
    path and the number of rows appended to the ledger (0 when all were there already)."""
    target = store.path(asset, partition)
    with temp_beside(target) as tmp:
        frame.to_parquet(tmp, index=False)
        appended = commit_file(
            ledger, tmp, target, table_key(asset, partition), rows_from_file, run_id
        )
    return target, appended


class _DelayedWriter(TableWriter):
    appended = 0

    def write(self, frame: pd.DataFrame) -> None:
        super().write(frame)
        _test_delay()


def recover_tables(ledger: Ledger, store: TableStore) -> dict[str, list[str]]:
    """Finish or undo interrupted commits (see the module docstring)."""
    done: dict[str, list[str]] = {"rolled_forward": [], "discarded": []}
    if not store.root.is_dir():
        return done
    done["discarded"] += [str(p) for p in store.remove_orphaned_temp_files()]
    markers = {c.path: c.sha256 for c in ledger.commits(TABLE_KIND)}
    for staged in sorted(store.root.glob("*/.*.staged")):
        name = staged.name[1:].rsplit(".", 2)[0]  # ".{name}.{sha}.staged" -> name
        sha = staged.name.rsplit(".", 2)[1]
        target = staged.with_name(name)
        committed = markers.get(str(target))
        if committed == sha and (not target.is_file() or sha256_file(target) != sha):
            os.replace(staged, target)
            done["rolled_forward"].append(str(target))
        else:
            staged.unlink()
            done["discarded"].append(str(staged))
        fsync_dir(target.parent)
    return done
