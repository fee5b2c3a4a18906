"""Table storage: atomic writes, streamed tables that replace the old one only on success."""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from labelgate.storage import TableStore, atomic_path, write_text_atomic


class Boom(RuntimeError):
    pass


def leftovers(folder: Path) -> list[str]:
    """Temporary files left in ``folder`` (atomic writes must leave none)."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


SCHEMA = pa.schema([("item_id", pa.string()), ("score", pa.float64())])


def frame(start: int, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": [f"id{i:04d}" for i in range(start, start + n)],
            "score": np.arange(start, start + n, dtype=np.float64) / 10,
        }
    )


# --- atomic files -------------------------------------------------------------------------


def test_atomic_write_replaces_the_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "note.txt"
    write_text_atomic(target, "a much longer first version\n" * 100)
    write_text_atomic(target, "short")
    assert target.read_text(encoding="utf-8") == "short"
    assert leftovers(target.parent) == []


def test_atomic_path_yields_a_temp_file_beside_the_target(tmp_path: Path) -> None:
    target = tmp_path / "table.bin"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent
        assert tmp != target
        tmp.write_bytes(b"new")
        assert not target.exists()  # nothing is visible until the block succeeds
    assert target.read_bytes() == b"new"
    assert not tmp.exists()


def test_failure_inside_atomic_path_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "note.txt"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(Boom), atomic_path(target) as tmp:
        tmp.write_text("half-written new", encoding="utf-8")
        raise Boom
    assert target.read_text(encoding="utf-8") == "old"
    assert leftovers(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == ["note.txt"]


def test_failure_before_the_first_write_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "new.txt"
    with pytest.raises(Boom), atomic_path(target):
        raise Boom
    assert list(tmp_path.iterdir()) == []


# --- tables -------------------------------------------------------------------------------


def test_layout_is_asset_then_partition(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    assert store.path("raw_items", "b1.csv") == tmp_path / "raw_items" / "b1.csv.parquet"
    assert store.path("review_queue") == tmp_path / "review_queue" / "_all.parquet"


def test_write_read_round_trip_and_partitions(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    store.write("t", frame(0, 3), "b")
    store.write("t", frame(3, 2), "a")
    store.write("t", frame(9, 1))  # the unpartitioned table is not a partition
    pd.testing.assert_frame_equal(store.read("t", "b"), frame(0, 3))
    assert store.partitions("t") == ["a", "b"]
    assert store.partitions("nothing") == []
    assert store.row_count("t", "b") == 3
    assert store.exists("t", "a") and not store.exists("t", "zzz")
    assert store.read_all("t")["item_id"].tolist() == [
        "id0003",
        "id0004",
        "id0000",
        "id0001",
        "id0002",
    ]
    assert store.read_all("t", ["b", "missing"])["item_id"].tolist() == [
        "id0000",
        "id0001",
        "id0002",
    ]
    assert store.read_all("nothing").empty
    with pytest.raises(FileNotFoundError, match="'t' partition 'zzz'"):
        store.read("t", "zzz")


def test_write_replaces_the_previous_table(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    store.write("t", frame(0, 100), "p")
    store.write("t", frame(500, 2), "p")
    assert store.read("t", "p")["item_id"].tolist() == ["id0500", "id0501"]
    assert leftovers(tmp_path / "t") == []


@pytest.mark.parametrize(
    "key",
    ["../escape", "a/b", "a\\b", "", ".hidden", "-dash", "_under", "sp ace", "x" * 201, "é"],
)
def test_unsafe_partition_keys_are_refused(tmp_path: Path, key: str) -> None:
    store = TableStore(tmp_path)
    with pytest.raises(ValueError, match="not a safe file name"):
        store.path("t", key)
    with pytest.raises(ValueError):
        store.write("t", frame(0, 1), key)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key", ["batch_001.csv", "2024-01-31", "k=v", "A", "x" * 200])
def test_safe_partition_keys_are_accepted(tmp_path: Path, key: str) -> None:
    assert TableStore(tmp_path).write("t", frame(0, 1), key).name == f"{key}.parquet"


# --- streamed tables ----------------------------------------------------------------------


def test_stream_writes_every_chunk(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    with store.stream("t", "p", SCHEMA) as writer:
        for start in range(0, 25, 10):
            writer.write(frame(start, min(10, 25 - start)))
    assert writer.rows == 25
    pd.testing.assert_frame_equal(store.read("t", "p"), frame(0, 25))
    assert store.row_count("t", "p") == 25


def test_stream_failure_keeps_the_previous_table(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    store.write("t", frame(0, 3), "p")
    with pytest.raises(Boom), store.stream("t", "p", SCHEMA) as writer:
        writer.write(frame(100, 10))
        writer.write(frame(110, 10))
        raise Boom
    pd.testing.assert_frame_equal(store.read("t", "p"), frame(0, 3))
    assert leftovers(tmp_path / "t") == []


def test_stream_failure_without_previous_table_leaves_none(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    with pytest.raises(Boom), store.stream("t", "p", SCHEMA) as writer:
        writer.write(frame(0, 5))
        raise Boom
    assert not store.exists("t", "p")
    assert leftovers(tmp_path / "t") == []


def test_stream_without_chunks_writes_an_empty_table_of_the_schema(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    store.write("t", frame(0, 3), "p")
    with store.stream("t", "p", SCHEMA) as writer:
        pass
    assert writer.rows == 0
    back = store.read("t", "p")
    assert back.empty
    assert list(back.columns) == ["item_id", "score"]
    assert back["score"].dtype == np.float64


def test_stream_casts_chunks_to_the_schema(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    with store.stream("t", None, SCHEMA) as writer:
        writer.write(frame(0, 2))
        writer.write(pd.DataFrame({"score": [7], "item_id": ["z"]}))  # int64, other order
    back = store.read("t")
    assert back["score"].tolist() == [0.0, 0.1, 7.0]
    assert back["score"].dtype == np.float64


def test_stream_refuses_a_chunk_missing_a_column(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    missing = pytest.raises(ValueError, match=r"lacks column\(s\) \['score'\]")
    with missing, store.stream("t", None, SCHEMA) as writer:
        writer.write(pd.DataFrame({"item_id": ["a"]}))
    assert not store.exists("t")


def test_stream_survives_a_first_chunk_with_an_all_null_column(tmp_path: Path) -> None:
    """E.g. a rules labeler that abstains on every item of the first chunk."""
    store = TableStore(tmp_path)
    schema = pa.schema([("label", pa.string()), ("probs", pa.list_(pa.float64()))])
    null_chunk = pd.DataFrame({"label": [None, None], "probs": [[], []]})
    later_chunk = pd.DataFrame({"label": ["a", None], "probs": [[0.9, 0.1], []]})
    with store.stream("t", "p", schema) as writer:
        writer.write(null_chunk)
        writer.write(later_chunk)
        writer.write(null_chunk)
    back = store.read("t", "p")
    assert writer.rows == 6
    assert back["label"].tolist()[2] == "a"
    assert back["label"].isna().sum() == 5
    assert [list(p) for p in back["probs"]] == [[], [], [0.9, 0.1], [], [], []]


def test_iter_chunks_reads_a_table_chunk_by_chunk(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    store.write("t", frame(0, 10), "p")
    chunks = list(store.iter_chunks("t", "p", chunk_size=4))
    assert [len(c) for c in chunks] == [4, 4, 2]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), frame(0, 10))
    only_ids = list(store.iter_chunks("t", "p", columns=["item_id"], chunk_size=100))
    assert len(only_ids) == 1
    assert list(only_ids[0].columns) == ["item_id"]
    with pytest.raises(FileNotFoundError):
        next(store.iter_chunks("t", "missing"))
