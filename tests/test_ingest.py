"""Ingestion: bad rows are quarantined with a reason, duplicates dropped, counts conserved."""

import hashlib
import json
import unicodedata
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from labelgate.errors import SourceError
from labelgate.ids import text_item_id
from labelgate.ingest import (
    ITEM_COLUMNS,
    QUARANTINE_COLUMNS,
    WHOLE_FILE_ROW,
    Batch,
    IngestResult,
    batch_key,
    discover_batches,
    drop_known_items,
    ingest_batch,
)
from labelgate.spec import SourceSpec
from labelgate.storage import TableStore
from labelgate.text import normalize_text

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}


def ingest(folder: Path, name: str, content: bytes | pd.DataFrame, **source: Any) -> IngestResult:
    """Write one source file and ingest it; every result is checked for conservation."""
    path = folder / name
    if isinstance(content, pd.DataFrame):
        content.to_parquet(path, index=False)
    else:
        path.write_bytes(content)
    spec = SourceSpec(path=folder, **source)
    result = ingest_batch(Batch(batch_key(path), path, FORMATS[path.suffix]), spec)
    assert result.seen == result.kept + result.duplicates + result.quarantined
    assert result.kept == len(result.items)
    assert list(result.items.columns) == ITEM_COLUMNS
    assert list(result.quarantine.columns) == QUARANTINE_COLUMNS
    return result


def jsonl(*rows: object) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


def reasons(result: IngestResult) -> dict[int, str]:
    return dict(zip(result.quarantine["source_row"], result.quarantine["reason"], strict=True))


# --- quarantine ---------------------------------------------------------------------------


def test_clean_csv_keeps_every_row_with_provenance(tmp_path: Path) -> None:
    result = ingest(tmp_path, "inbox.csv", b"text\nfirst message\nsecond message\n")
    assert (result.seen, result.kept, result.duplicates, result.quarantined) == (2, 2, 0, 0)
    items = result.items
    assert items["text"].tolist() == ["first message", "second message"]
    assert items["batch"].tolist() == ["inbox.csv", "inbox.csv"]
    assert items["source_file"].tolist() == [str(tmp_path / "inbox.csv")] * 2
    assert items["source_row"].tolist() == [2, 3]  # file line numbers; the header is line 1
    assert items["source_row"].dtype == "int64"
    assert items["source_id"].isna().all()
    assert result.source_sha256 == hashlib.sha256((tmp_path / "inbox.csv").read_bytes()).hexdigest()


def test_empty_and_whitespace_only_text_are_quarantined(tmp_path: Path) -> None:
    content = b'text\nkeep me\n""\n"   "\n"\t\n "\nalso kept\n'
    result = ingest(tmp_path, "b.csv", content)
    assert result.items["text"].tolist() == ["keep me", "also kept"]
    assert reasons(result) == {3: "empty text", 4: "empty text", 5: "empty text"}
    assert (result.seen, result.quarantined) == (5, 3)


def test_invalid_utf8_quarantines_only_that_row(tmp_path: Path) -> None:
    content = b"text,id\nfine one,a\nbroken \xff\xfe bytes,b\nfine two,c\n"
    result = ingest(tmp_path, "enc.csv", content, id_column="id")
    assert result.items["text"].tolist() == ["fine one", "fine two"]
    assert result.items["source_row"].tolist() == [2, 4]
    assert reasons(result) == {3: "not valid UTF-8"}
    assert result.seen == 3


def test_invalid_utf8_in_the_last_row_without_newline_is_counted(tmp_path: Path) -> None:
    result = ingest(tmp_path, "tail.csv", b"text\nfine\nbroken \xff")
    assert result.items["text"].tolist() == ["fine"]
    assert reasons(result) == {3: "not valid UTF-8"}
    assert result.seen == 2


def test_invalid_utf8_after_a_multiline_cell_flags_the_right_row(tmp_path: Path) -> None:
    content = b'text\n"spans\ntwo lines"\nbroken \xff\nfine after\n'
    result = ingest(tmp_path, "multi.csv", content)
    assert result.items["text"].tolist() == ["spans two lines", "fine after"]
    assert result.items["source_row"].tolist() == [2, 5]  # the line each row starts on
    assert reasons(result) == {4: "not valid UTF-8"}


def test_row_with_the_wrong_number_of_fields_is_quarantined(tmp_path: Path) -> None:
    content = b"id,text\n1,fine\n2,one,too many\n3\n4,also fine\n"
    result = ingest(tmp_path, "shape.csv", content, id_column="id")
    assert result.items["text"].tolist() == ["fine", "also fine"]
    assert reasons(result) == {
        3: "has 3 fields but the header has 2",
        4: "has 1 fields but the header has 2",
    }


def test_bom_is_not_part_of_the_header(tmp_path: Path) -> None:
    for name, tail in (("bom.csv", b""), ("bom_bad.csv", b"bad \xff\n")):
        result = ingest(tmp_path, name, b"\xef\xbb\xbftext\nhello\n" + tail)
        assert result.items["text"].tolist() == ["hello"]


def test_text_longer_than_max_chars_is_quarantined_after_normalization(tmp_path: Path) -> None:
    long_text = "x" * 11
    content = f"text\n{'y' * 10}\n  {'z' * 10}  \n{long_text}\n".encode()
    result = ingest(tmp_path, "long.csv", content, max_chars=10)
    assert result.items["text"].tolist() == ["y" * 10, "z" * 10]
    assert reasons(result) == {4: "text longer than 10 characters (11)"}
    assert result.quarantine["excerpt"].tolist() == [long_text]


def test_quarantine_excerpt_is_short(tmp_path: Path) -> None:
    result = ingest(tmp_path, "huge.csv", f"text\n{'w' * 500}\n".encode(), max_chars=100)
    assert result.quarantined == 1
    assert len(result.quarantine["excerpt"].iloc[0]) <= 80


def test_missing_text_column_quarantines_every_row(tmp_path: Path) -> None:
    result = ingest(tmp_path, "body.csv", b"body\none\ntwo\n")
    assert result.kept == 0
    assert result.quarantined == 2
    assert set(result.quarantine["reason"]) == {"missing column 'text'"}


def test_configured_text_column_is_used(tmp_path: Path) -> None:
    result = ingest(tmp_path, "body.csv", b"id,body\n1,hello\n", text_column="body")
    assert result.items["text"].tolist() == ["hello"]


def test_jsonl_bad_lines_are_quarantined_with_line_numbers(tmp_path: Path) -> None:
    content = (
        jsonl({"text": "first"})
        + b"{not json\n"
        + b"\n"  # blank lines are skipped, not counted
        + jsonl(["a", "list"], "a string", 42)
        + b'{"text": "bad \xff byte"}\n'
        + jsonl({"text": "last"})
    )
    result = ingest(tmp_path, "msgs.jsonl", content)
    assert result.items["text"].tolist() == ["first", "last"]
    assert result.items["source_row"].tolist() == [1, 8]
    found = reasons(result)
    assert found[2].startswith("invalid JSON: ")
    assert found[4] == found[5] == found[6] == "row is not an object"
    assert found[7] == "not valid UTF-8"
    assert result.seen == 7


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (42, "column 'text' is not text (int)"),
        (4.5, "column 'text' is not text (float)"),
        (["a"], "column 'text' is not text (list)"),
        ({"a": 1}, "column 'text' is not text (dict)"),
        (True, "column 'text' is not text (bool)"),
        (None, "missing column 'text'"),
    ],
)
def test_jsonl_non_string_text_is_quarantined(tmp_path: Path, value: object, reason: str) -> None:
    result = ingest(tmp_path, "x.jsonl", jsonl({"text": "ok"}, {"text": value}, {"other": 1}))
    assert result.items["text"].tolist() == ["ok"]
    assert reasons(result) == {2: reason, 3: "missing column 'text'"}


def test_parquet_non_string_and_null_text_are_quarantined(tmp_path: Path) -> None:
    numbers = pd.DataFrame({"text": [1, 2]})
    result = ingest(tmp_path, "numbers.parquet", numbers)
    assert result.kept == 0
    assert set(result.quarantine["reason"]) == {"column 'text' is not text (int)"}
    assert result.quarantine["excerpt"].tolist() == ["1", "2"]

    mixed = pd.DataFrame({"text": ["good", None, "  "]}, dtype=object)
    result = ingest(tmp_path, "mixed.parquet", mixed)
    assert result.items["text"].tolist() == ["good"]
    rows = reasons(result)
    assert rows == {1: "missing column 'text'", 2: "empty text"}
    assert mixed["text"].iloc[1] is None  # source_row is the Parquet row index


def test_all_formats_agree_on_items(tmp_path: Path) -> None:
    texts = ["Card stolen", "Loan rates?"]
    (tmp_path / "c").mkdir()
    (tmp_path / "j").mkdir()
    (tmp_path / "p").mkdir()
    csv = ingest(tmp_path / "c", "a.csv", ("text\n" + "\n".join(texts) + "\n").encode())
    jl = ingest(tmp_path / "j", "a.jsonl", jsonl(*({"text": t} for t in texts)))
    pq = ingest(tmp_path / "p", "a.parquet", pd.DataFrame({"text": texts}))
    assert csv.items["item_id"].tolist() == jl.items["item_id"].tolist()
    assert csv.items["item_id"].tolist() == pq.items["item_id"].tolist()


# --- duplicates and ids -------------------------------------------------------------------


def test_item_id_is_the_content_hash_of_normalized_text(tmp_path: Path) -> None:
    result = ingest(tmp_path, "a.csv", b'text\n"  Hello\t\n  World  "\n')
    (row,) = result.items.to_dict("records")
    assert row["text"] == "Hello World"
    assert row["item_id"] == hashlib.sha256(b"Hello World").hexdigest()[:16]
    assert row["item_id"] == text_item_id(normalize_text("  Hello\t\n  World  "))


def test_exact_duplicates_within_a_batch_are_dropped(tmp_path: Path) -> None:
    composed = unicodedata.normalize("NFC", "café au lait")
    decomposed = unicodedata.normalize("NFD", "café au lait")
    assert composed != decomposed
    rows = [
        {"text": "hello world"},
        {"text": "  hello   world "},
        {"text": "hello\tworld"},
        {"text": composed},
        {"text": decomposed},
        {"text": "Hello world"},  # case differs: a different item
        {"text": ""},
    ]
    result = ingest(tmp_path, "dups.jsonl", jsonl(*rows))
    assert result.items["text"].tolist() == ["hello world", composed, "Hello world"]
    assert result.items["source_row"].tolist() == [1, 4, 6]  # the first occurrence is kept
    assert (result.seen, result.kept, result.duplicates, result.quarantined) == (7, 3, 3, 1)
    assert result.items["item_id"].is_unique


def test_drop_known_items_moves_cross_batch_duplicates(tmp_path: Path) -> None:
    first = ingest(tmp_path, "a.csv", b"text\nalpha\nbeta\n")
    second = ingest(tmp_path, "b.csv", b"text\nbeta\n gamma\n\nalpha \n")
    known = set(first.items["item_id"])
    result = drop_known_items(second, known)
    assert result.items["text"].tolist() == ["gamma"]
    assert result.items.index.tolist() == [0]
    assert (result.seen, result.kept, result.duplicates, result.quarantined) == (3, 1, 2, 0)
    assert result.seen == result.kept + result.duplicates + result.quarantined
    assert result.quarantine.equals(second.quarantine)
    assert result.source_sha256 == second.source_sha256
    assert drop_known_items(second, set()).items.equals(second.items)


# --- source ids ---------------------------------------------------------------------------


def test_id_column_is_carried_as_source_id(tmp_path: Path) -> None:
    result = ingest(
        tmp_path, "a.csv", b"msg_id,text\nM-001,hello\nM-002,bye\n,no id\n", id_column="msg_id"
    )
    ids = result.items["source_id"].tolist()
    assert ids[:2] == ["M-001", "M-002"]
    assert pd.isna(ids[2])  # a blank id is null, not ""


def test_integer_ids_stay_integers_and_missing_ids_are_null(tmp_path: Path) -> None:
    rows = [{"id": 10, "text": "a"}, {"text": "b"}, {"id": 9007199254740993, "text": "c"}]
    result = ingest(tmp_path, "a.jsonl", jsonl(*rows), id_column="id")
    ids = result.items["source_id"].tolist()
    assert ids[0] == "10"
    assert pd.isna(ids[1])
    assert ids[2] == "9007199254740993"  # beyond float precision: never went through float

    frame = pd.DataFrame({"id": pd.array([7, None], dtype="Int64"), "text": ["x", "y"]})
    result = ingest(tmp_path, "a.parquet", frame, id_column="id")
    ids = result.items["source_id"].tolist()
    assert ids[0] == "7"
    assert pd.isna(ids[1])


def test_ingested_items_can_be_stored(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    result = ingest(source, "a.csv", b"id,text\n1,hello\n,world\nbad,\xff\n", id_column="id")
    store = TableStore(tmp_path / "store")
    store.write("raw_items", result.items, result.items["batch"].iloc[0])
    store.write("quarantine", result.quarantine, "a.csv")
    back = store.read("raw_items", "a.csv")
    assert back["text"].tolist() == ["hello", "world"]
    assert back["source_id"].iloc[0] == "1"
    assert pd.isna(back["source_id"].iloc[1])
    assert store.read("quarantine", "a.csv")["reason"].tolist() == ["not valid UTF-8"]


# --- discovering batches ------------------------------------------------------------------


def test_discover_batches_ignores_unknown_and_folders_and_flags_hidden(tmp_path: Path) -> None:
    for name in ["b.jsonl", "a.csv", "c.parquet", "d.ndjson", "E.CSV", "notes.txt", ".hidden.csv"]:
        (tmp_path / name).write_text("text\n", encoding="utf-8")
    (tmp_path / "sub.csv").mkdir()
    batches = discover_batches(SourceSpec(path=tmp_path))
    assert [(b.key, b.path.name, b.format, b.problem is None) for b in batches] == [
        ("E.CSV", "E.CSV", "csv", True),
        ("a.csv", "a.csv", "csv", True),
        ("b.jsonl", "b.jsonl", "jsonl", True),
        ("c.parquet", "c.parquet", "parquet", True),
        ("d.ndjson", "d.ndjson", "jsonl", True),
        ("hidden.csv", ".hidden.csv", "csv", False),  # counted and quarantined, not skipped
    ]


def test_discover_batches_honours_formats(tmp_path: Path) -> None:
    for name in ["a.csv", "b.jsonl", "c.parquet"]:
        (tmp_path / name).write_text("", encoding="utf-8")
    batches = discover_batches(SourceSpec(path=tmp_path, formats=("jsonl",)))
    assert [b.path.name for b in batches] == ["b.jsonl"]


def test_discover_batches_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="nowhere does not exist"):
        discover_batches(SourceSpec(path=tmp_path / "nowhere"))
    (tmp_path / "file.csv").write_text("text\n", encoding="utf-8")
    with pytest.raises(SourceError, match="not a folder"):
        discover_batches(SourceSpec(path=tmp_path / "file.csv"))


def test_discover_batches_settles_key_clashes(tmp_path: Path) -> None:
    (tmp_path / "jan 2024.csv").write_text("text\n", encoding="utf-8")
    (tmp_path / "jan_2024.csv").write_text("text\n", encoding="utf-8")
    batches = {b.path.name: b for b in discover_batches(SourceSpec(path=tmp_path))}
    assert batches["jan_2024.csv"].key == "jan_2024.csv"  # its name is the key: it keeps it
    assert batches["jan_2024.csv"].problem is None
    loser = batches["jan 2024.csv"]
    assert loser.key.startswith("jan_2024.csv-") and loser.key != "jan_2024.csv"
    assert "maps to batch key 'jan_2024.csv'" in str(loser.problem)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("inbox-2024.csv", "inbox-2024.csv"),
        ("my file (1).csv", "my_file_1_.csv"),
        ("-leading dash.csv", "leading_dash.csv"),
        ("=x.jsonl", "x.jsonl"),
        ("café.csv", "caf_.csv"),
        ("日本.csv", "csv"),
    ],
)
def test_batch_keys_are_safe_partition_keys(tmp_path: Path, name: str, key: str) -> None:
    assert batch_key(Path(name)) == key
    TableStore(tmp_path).path("raw_items", key)  # the store accepts every batch key


def test_unreadable_parquet_is_quarantined_whole(tmp_path: Path) -> None:
    result = ingest(tmp_path, "corrupt.parquet", b"PAR1 this is not a parquet file")
    assert (result.seen, result.kept, result.quarantined) == (1, 0, 1)
    assert result.quarantine["source_row"].tolist() == [WHOLE_FILE_ROW]
    assert "file not ingested: cannot be read as parquet" in result.quarantine["reason"].iloc[0]


def test_empty_csv_is_quarantined_whole(tmp_path: Path) -> None:
    result = ingest(tmp_path, "empty.csv", b"")
    assert (result.seen, result.kept, result.quarantined) == (1, 0, 1)
    assert reasons(result) == {WHOLE_FILE_ROW: "file not ingested: empty file: no header line"}
