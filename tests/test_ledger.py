"""The audit ledger: hash chain, tamper detection, idempotent bulk appends, serialized
concurrent writers, and files committed together with their ledger rows."""

import itertools
import threading
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from labelgate.ledger import Ledger
from labelgate.ledger.commit import ledgered_write, recover_tables, staged_path, table_key
from labelgate.ledger.schema import events
from labelgate.storage import TableStore


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}", "demo")


def _fill(ledger: Ledger, n: int = 10) -> None:
    for i in range(n):
        ledger.append("item_ingested", {"row": i}, item_id=f"item{i}", run_id="run-1")


def _execute(ledger: Ledger, statement: sa.Executable) -> None:
    with ledger.engine.connect() as connection, connection.begin():
        connection.execute(statement)


def test_rows_chain_and_verify(ledger: Ledger) -> None:
    assert ledger.head() == "" and ledger.verify().ok
    _fill(ledger, 5)
    rows = ledger.events()
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == "" and all(
        b.prev_hash == a.hash for a, b in itertools.pairwise(rows)
    )
    assert ledger.head() == rows[-1].hash
    result = ledger.verify()
    assert result.ok and result.rows == 5 and result.head == rows[-1].hash
    assert ledger.events(item_id="item3")[0].payload == {"row": 3}
    assert rows[0].run_id == "run-1"


def test_tampered_payload_is_named(ledger: Ledger) -> None:
    _fill(ledger)
    _execute(
        ledger,
        events.update().where(events.c.seq == 4).values(payload='{"row":400}'),
    )
    result = ledger.verify()
    assert not result.ok
    assert result.first_bad is not None and result.first_bad.startswith("row 4:")
    assert "tampered" in result.first_bad


def test_reordered_rows_are_detected(ledger: Ledger) -> None:
    _fill(ledger)
    # swap rows 3 and 6 (their sequence numbers), as if someone reordered history
    _execute(ledger, events.update().where(events.c.seq == 3).values(seq=-3))
    _execute(ledger, events.update().where(events.c.seq == 6).values(seq=3))
    _execute(ledger, events.update().where(events.c.seq == -3).values(seq=6))
    result = ledger.verify()
    assert not result.ok and result.first_bad is not None
    assert result.first_bad.startswith("row 3:")


def test_deleted_rows_are_detected_in_the_middle_and_at_the_end(ledger: Ledger) -> None:
    _fill(ledger)
    _execute(ledger, events.delete().where(events.c.seq == 5))
    result = ledger.verify()
    assert not result.ok and result.first_bad is not None
    assert result.first_bad.startswith("row 6:") and "deleted" in result.first_bad

    other = Ledger(ledger.url, "other")
    _fill(other)
    _execute(other, events.delete().where(events.c.project == "other", events.c.seq == 10))
    tail = other.verify()
    assert not tail.ok and tail.first_bad is not None and "ends at row 9" in tail.first_bad


def test_bulk_append_is_one_transaction_and_idempotent(ledger: Ledger) -> None:
    rows = [
        ("label_proposed", {"labeler": "rules", "label": "a"}, f"i{i}", f"proposed:i{i}:rules:v1")
        for i in range(5000)
    ]
    appended = ledger.append_many(rows, run_id="r")
    assert len(appended) == 5000 and ledger.count("label_proposed") == 5000
    assert len({e.at for e in appended}) == 1  # one transaction, one timestamp
    again = ledger.append_many([*rows[:10], ("label_proposed", {"x": 1}, "new", "k-new")])
    assert [e.item_id for e in again] == ["new"]  # only the unseen key was appended
    assert ledger.count() == 5001 and ledger.verify().ok


def test_failed_transaction_appends_nothing(ledger: Ledger) -> None:
    _fill(ledger, 3)
    head = ledger.head()
    with pytest.raises(RuntimeError), ledger.transaction() as tx:
        tx.append("item_ingested", {"row": 99}, item_id="x")
        raise RuntimeError("crash inside the transaction")
    assert ledger.head() == head and ledger.count() == 3 and ledger.verify().ok


def append_concurrently(url: str, project: str, *, writers: int, rows: int) -> None:
    """``writers`` threads, each with its own ``Ledger``, append ``rows`` rows one by one."""

    def writer(name: str) -> None:
        mine = Ledger(url, project)
        for i in range(rows):
            mine.append("item_ingested", {"writer": name, "i": i}, item_id=f"{name}-{i}")

    threads = [threading.Thread(target=writer, args=(f"w{k}",)) for k in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_concurrent_writers_are_serialized(ledger: Ledger) -> None:
    append_concurrently(ledger.url, ledger.project, writers=4, rows=40)
    result = ledger.verify()
    assert result.ok and result.rows == 160
    assert [e.seq for e in ledger.events()] == list(range(1, 161))


def test_chains_of_projects_are_independent(ledger: Ledger) -> None:
    other = Ledger(ledger.url, "other")
    _fill(ledger, 3)
    _fill(other, 2)
    assert ledger.count() == 3 and other.count() == 2
    assert ledger.verify().ok and other.verify().ok and ledger.head() != other.head()


def _rows(frame: pd.DataFrame) -> list:
    return [("item_ingested", {"n": 1}, i, f"ingested:{i}") for i in frame["item_id"]]


def test_ledgered_write_commits_file_and_rows_together(ledger: Ledger, tmp_path: Path) -> None:
    store = TableStore(tmp_path / "tables")
    frame = pd.DataFrame({"item_id": ["a", "b"], "text": ["x", "y"]})
    path, appended = ledgered_write(
        ledger, store, "raw_items", frame, "b1", lambda _: _rows(frame), run_id="r1"
    )
    assert appended == 2 and store.read("raw_items", "b1").equals(frame)
    (commit,) = ledger.commits("table")
    assert commit.key == table_key("raw_items", "b1") and commit.path == str(path)
    # Re-applying the same data after a crash duplicates nothing.
    _, again = ledgered_write(ledger, store, "raw_items", frame, "b1", lambda _: _rows(frame))
    # the marker is chained: one data_committed row, not repeated for an unchanged file
    assert again == 0 and ledger.count("item_ingested") == 2
    assert ledger.count("data_committed") == 1


def test_crash_after_commit_rolls_forward_and_before_commit_rolls_back(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import labelgate.ledger.commit as commit_module

    store = TableStore(tmp_path / "tables")
    frame = pd.DataFrame({"item_id": ["a", "b", "c"], "text": ["x", "y", "z"]})
    real_replace = commit_module.os.replace

    def crash_on_final_rename(src: object, dst: object) -> None:
        if Path(str(src)).name.endswith(".staged"):
            raise KeyboardInterrupt("killed between the ledger commit and the rename")
        real_replace(src, dst)

    monkeypatch.setattr(commit_module.os, "replace", crash_on_final_rename)
    with pytest.raises(KeyboardInterrupt):
        ledgered_write(ledger, store, "raw_items", frame, "b1", lambda _: _rows(frame))
    monkeypatch.setattr(commit_module.os, "replace", real_replace)
    target = store.path("raw_items", "b1")
    assert not target.exists() and ledger.count("item_ingested") == 3  # rows committed, file not
    done = recover_tables(ledger, store)
    assert done["rolled_forward"] == [str(target)]
    assert store.read("raw_items", "b1").equals(frame)

    # A staged file that never got its ledger commit is thrown away, the old file stays.
    orphan = staged_path(target, "0" * 64)
    orphan.write_bytes(b"half-written")
    assert recover_tables(ledger, store)["discarded"] == [str(orphan)]
    assert not orphan.exists() and store.read("raw_items", "b1").equals(frame)
