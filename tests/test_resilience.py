"""Issue 12, items 2, 3, 7, 8, 10 and 11: no input wedges a project.

A batch with no new items is a no-op; an unreadable source file is one quarantined row; a
review import is all or nothing with its ledger rows (also during a ledger outage), and a
reviewer name the ledger cannot hold refuses the file first; the source folder is a
boundary; malformed quoting, invisible texts, BOMs, memory addresses, temp files and runs a
killed process left STARTED are handled. (The hostile-input suite is test_hostile_inputs.)
"""

import gzip
import io
import os
import re
import subprocess
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from labelgate.aggregate import aggregate, posterior
from labelgate.errors import ReviewFileError
from labelgate.governance.recording import quarantine_rows
from labelgate.governance.review_import import ReviewImportRefused, import_review_files
from labelgate.images.ingest import (
    ImageLimits,
    discover_image_batches,
    ingest_image_batch,
    inspect_image,
)
from labelgate.ingest import (
    WHOLE_FILE_ROW,
    Batch,
    IngestResult,
    batch_key,
    discover_batches,
    ingest_batch,
)
from labelgate.ledger import Ledger, LedgerError
from labelgate.ledger.commit import recover_tables
from labelgate.ledger.events import REVIEW_DECISION
from labelgate.project import QUARANTINE, RAW_ITEMS, ProjectData
from labelgate.review import ReviewStore, read_review_file
from labelgate.spec import SourceSpec, load_project
from labelgate.storage import TableStore, temp_prefix
from labelgate_cli.app import app
from labelgate_cli.orphans import OWNER_TAG, fail_orphaned_runs, run_tags
from tests.conftest import write_project

CLASSES = ["fraud", "billing"]
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}


def ingest(folder: Path, name: str, content: bytes) -> IngestResult:
    path = folder / name
    path.write_bytes(content)
    result = ingest_batch(
        Batch(batch_key(path), path, FORMATS[path.suffix]), SourceSpec(path=folder)
    )
    assert result.seen == result.kept + result.duplicates + result.quarantined
    return result


def _stored(store: ReviewStore) -> list[str]:
    folder = store.imported_dir
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def dead_owner() -> str:
    """The ``{host}~{pid}`` of a process of this host that has exited."""
    return run_tags()[OWNER_TAG].rsplit("~", 1)[0] + f"~{dead_pid()}"


# --- item 2: a batch with no new items ----------------------------------------------------


def test_the_posterior_of_no_items_is_empty_not_an_index_error() -> None:
    assert posterior([], {}, 3).shape == (0, 3)
    frame = aggregate([], [], {}, ["a", "b", "c"])
    assert frame.empty and {"item_id", "label", "confidence"} <= set(frame.columns)


# --- item 3: an unreadable source file is one quarantined row -----------------------------

_PARQUET = io.BytesIO()
pd.DataFrame({"text": ["a message"] * 40}).to_parquet(_PARQUET)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.csv", b"", "empty file"),
        ("empty.parquet", b"", "cannot be read as parquet"),
        ("cut.parquet", _PARQUET.getvalue()[:100], "cannot be read as parquet"),
        ("utf16.csv", "text\nhello\n".encode("utf-16"), "not valid UTF-8"),
        ("packed.csv", gzip.compress(b"text\nhello\n"), "not valid UTF-8"),
        ("nul.csv", b"te\x00xt\nhello\n", "NUL"),
        ("quote.csv", b'"text"x\nhello\n', "header line is not readable CSV"),
    ],
)
def test_an_unreadable_file_is_quarantined_whole(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    result = ingest(tmp_path, name, content)
    assert (result.seen, result.kept, result.quarantined) == (1, 0, 1)
    row = result.quarantine.iloc[0]
    assert row["source_row"] == WHOLE_FILE_ROW
    assert row["reason"].startswith("file not ingested: ") and reason in row["reason"]


def test_two_unreadable_files_of_the_same_content_get_a_ledger_row_each(tmp_path: Path) -> None:
    rows = []
    for name in ("a.csv", "b.csv"):
        result = ingest(tmp_path, name, b"")
        rows += quarantine_rows(result.quarantine, result.source_sha256)
    assert len({row[3] for row in rows}) == 2  # distinct dedup keys: neither is dropped


def test_a_lone_surrogate_in_jsonl_is_quarantined_not_a_crash(tmp_path: Path) -> None:
    content = b'{"text": "lone \\ud800 surrogate"}\n{"text": "pair \\ud83d\\ude00 fine"}\n'
    result = ingest(tmp_path, "s.jsonl", content)
    assert result.kept == 1 and result.items["text"].tolist() == ["pair \U0001f600 fine"]
    assert "lone surrogate" in result.quarantine["reason"].iloc[0]
    TableStore(tmp_path / "t").write(QUARANTINE, result.quarantine, "s.jsonl")


# --- item 7: reviewer names the ledger cannot hold ----------------------------------------


def _answers(folder: Path, name: str, rows: list[tuple[str, str, str]]) -> Path:
    path = folder / name
    pd.DataFrame(rows, columns=["item_id", "label", "reviewer"]).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("reviewer", "reason"),
    [
        ("r" * 250, "reviewer name has 250 characters, more than 64"),
        ("erin\x1b[31m", "control character(s) U+001B"),
        ("erin\u2028bob", "separator characters (U+2028)"),
        ("erin\ue000", "private or separator characters (U+E000)"),
    ],
)
def test_a_reviewer_name_that_cannot_be_stored_refuses_the_file(
    tmp_path: Path, reviewer: str, reason: str
) -> None:
    path = _answers(tmp_path, "a.csv", [("i1", "fraud", reviewer)])
    with pytest.raises(ReviewFileError, match=re.escape(reason)):
        read_review_file(path, known_items={"i1"}, class_names=CLASSES)


@pytest.mark.postgres
def test_a_250_character_reviewer_does_not_wedge_a_postgres_project(
    tmp_path: Path, postgres_url: str
) -> None:
    store, ledger = ReviewStore(tmp_path / "reviews"), Ledger(postgres_url, "wedge")
    args = {"known_items": {"i1", "i2"}, "class_names": CLASSES, "purposes": {}}
    long = _answers(tmp_path, "long.csv", [("i1", "fraud", "r" * 250)])
    with pytest.raises(ReviewFileError, match="250 characters, more than 64"):
        import_review_files(store, ledger, [long], **args)
    assert _stored(store) == []
    longest = _answers(tmp_path, "ok.csv", [("i1", "fraud", "r" * 64), ("i2", "billing", "e")])
    [result] = import_review_files(store, ledger, [longest], **args)
    assert result.rows == 2 and ledger.count(REVIEW_DECISION) == 2
    assert ledger.verify().ok


# --- item 8: all-or-nothing review imports ------------------------------------------------


@pytest.fixture
def review_setup(tmp_path: Path) -> tuple[ReviewStore, Ledger, dict]:
    store = ReviewStore(tmp_path / "reviews")
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}", "p")
    args = {"known_items": {"i1", "i2", "i3"}, "class_names": CLASSES, "purposes": {}}
    return store, ledger, args


def test_a_bad_file_among_several_stores_none_and_a_retry_works(
    tmp_path: Path, review_setup: tuple[ReviewStore, Ledger, dict]
) -> None:
    store, ledger, args = review_setup
    good = _answers(tmp_path, "good.csv", [("i1", "fraud", "erin"), ("i2", "billing", "erin")])
    bad = _answers(tmp_path, "bad.csv", [("nope", "fraud", "erin")])
    with pytest.raises(ReviewImportRefused, match=r"1 of 2 file\(s\) are bad, so none of the 2"):
        import_review_files(store, ledger, [good, bad], **args)
    assert _stored(store) == [] and ledger.count(REVIEW_DECISION) == 0
    [result] = import_review_files(store, ledger, [good], **args)  # not "already imported"
    assert result.rows == 2 and ledger.count(REVIEW_DECISION) == 2
    assert len(store.all_reviews()) == 2


def test_the_same_file_twice_in_one_import_is_refused(
    tmp_path: Path, review_setup: tuple[ReviewStore, Ledger, dict]
) -> None:
    store, ledger, args = review_setup
    good = _answers(tmp_path, "good.csv", [("i1", "fraud", "erin")])
    copy = tmp_path / "copy.csv"
    copy.write_bytes(good.read_bytes())
    with pytest.raises(ReviewImportRefused, match="same content as"):
        import_review_files(store, ledger, [good, copy], **args)
    assert _stored(store) == []


def test_an_import_during_a_ledger_outage_leaves_no_trace(
    tmp_path: Path,
    review_setup: tuple[ReviewStore, Ledger, dict],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store, ledger, args = review_setup
    good = _answers(tmp_path, "good.csv", [("i1", "fraud", "erin")])

    def outage(self: Ledger) -> None:
        raise LedgerError("ledger postgresql://ledger/db is not writable: connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(Ledger, "transaction", outage)
        with pytest.raises(LedgerError, match="not writable"):
            import_review_files(store, ledger, [good], **args)
    assert _stored(store) == []  # neither the file nor a staged copy
    [result] = import_review_files(store, ledger, [good], **args)
    assert result.rows == 1 and ledger.count(REVIEW_DECISION) == 1


def test_a_crash_after_the_ledger_commit_is_rolled_forward(
    tmp_path: Path, review_setup: tuple[ReviewStore, Ledger, dict]
) -> None:
    store, ledger, args = review_setup
    good = _answers(tmp_path, "good.csv", [("i1", "fraud", "erin")])
    [result] = import_review_files(store, ledger, [good], **args)
    target = result.path
    staged = target.with_name(f".{target.name}.{dead_owner()}.staged")
    os.replace(target, staged)  # as if killed between the ledger commit and the rename
    uncommitted = _answers(tmp_path, "lost.csv", [("i3", "fraud", "erin")])
    lost = store.prepare(uncommitted, **args)  # as if killed before its ledger commit
    orphan = lost.path.with_name(f".{lost.path.name}.{dead_owner()}.staged")
    lost.rows.to_parquet(orphan)
    other = _answers(tmp_path, "other.csv", [("i2", "billing", "erin")])
    import_review_files(store, ledger, [other], **args)
    assert target.is_file() and not staged.exists()  # rolled forward
    assert not orphan.exists() and not lost.path.exists()  # never committed: dropped
    assert sorted(store.all_reviews()["item_id"]) == ["i1", "i2"]
    [retry] = import_review_files(store, ledger, [uncommitted], **args)
    assert retry.rows == 1


# --- item 10: the source folder is a boundary ---------------------------------------------


def test_links_out_of_the_source_folder_and_hidden_files_are_quarantined(tmp_path: Path) -> None:
    source, outside = tmp_path / "in", tmp_path / "secret.csv"
    source.mkdir()
    outside.write_text("text\nsecret outside\n", encoding="utf-8")
    (source / "good.csv").write_text("text\nhello\n", encoding="utf-8")
    (source / ".hidden.csv").write_text("text\nhidden\n", encoding="utf-8")
    os.symlink(outside, source / "out.csv")
    os.symlink(source / "good.csv", source / "inside.csv")  # a link within the folder is fine
    spec = SourceSpec(path=source)
    results = {b.path.name: ingest_batch(b, spec) for b in discover_batches(spec)}
    assert results["good.csv"].kept == 1 and results["inside.csv"].kept == 1
    for name, reason in [(".hidden.csv", "hidden file"), ("out.csv", "outside the source")]:
        assert results[name].kept == 0 and results[name].quarantined == 1
        assert reason in results[name].quarantine["reason"].iloc[0]
        assert "secret" not in results[name].quarantine["excerpt"].iloc[0]


def test_image_links_out_of_the_source_and_hidden_images_are_quarantined(tmp_path: Path) -> None:
    from PIL import Image

    source = tmp_path / "in"
    source.mkdir()
    Image.new("RGB", (4, 4), "red").save(source / "a.png")
    Image.new("RGB", (4, 4), "blue").save(source / ".b.png")
    Image.new("RGB", (4, 4), "green").save(tmp_path / "secret.png")
    os.symlink(tmp_path / "secret.png", source / "c.png")
    [batch] = discover_image_batches(source)
    result = ingest_image_batch(batch)
    assert (result.seen, result.kept, result.quarantined) == (3, 1, 2)
    assert sorted(result.quarantine["excerpt"]) == [".b.png", "c.png"]


# --- item 11: the smaller cases -----------------------------------------------------------


def test_malformed_csv_quoting_is_quarantined_not_merged(tmp_path: Path) -> None:
    content = b'text\n"a quote left open\nswallowed row\n"then text\nlast row\n'
    result = ingest(tmp_path, "q.csv", content)
    assert result.items["text"].tolist() == ["last row"]
    [reason] = result.quarantine["reason"]
    assert reason.startswith("malformed CSV quoting in lines 2-4")


def test_texts_of_only_invisible_characters_are_quarantined(tmp_path: Path) -> None:
    content = 'text\n"\u200b\u200c"\n"\x00\x00"\n"\u2060\ufeff"\nvisible\u200b\n'.encode()
    result = ingest(tmp_path, "z.csv", content)
    assert result.kept == 1 and result.quarantined == 3
    assert set(result.quarantine["reason"]) == {
        "text has no visible characters (only zero-width, control or NUL)"
    }


def test_a_bom_does_not_quarantine_the_first_jsonl_row(tmp_path: Path) -> None:
    result = ingest(tmp_path, "b.jsonl", b'\xef\xbb\xbf{"text": "first"}\n{"text": "second"}\n')
    assert result.items["text"].tolist() == ["first", "second"]


def test_quarantine_reasons_carry_no_memory_address(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as error:
        inspect_image(tmp_path / "x.png", b"not an image at all", ImageLimits())
    assert "0x" not in str(error.value) and "object at" not in str(error.value)


def test_crash_recovery_removes_temp_files_of_dead_writers(tmp_path: Path) -> None:
    store = TableStore(tmp_path / "tables")
    store.write(QUARANTINE, pd.DataFrame({"reason": ["x"]}), "b.csv")
    target = store.path(QUARANTINE, "b.csv")
    dead = target.with_name(temp_prefix(target).replace(f"~{os.getpid()}.", f"~{dead_pid()}."))
    dead = dead.with_name(dead.name + "abc123.tmp")
    live = target.with_name(temp_prefix(target) + "def456.tmp")  # this process: still writing
    dead.write_bytes(b"half a table")
    live.write_bytes(b"being written")
    recover_tables(Ledger(f"sqlite:///{tmp_path / 'l.sqlite'}", "p"), store)
    assert not dead.exists() and live.exists()


def test_runs_left_started_by_a_killed_process_are_marked_failed() -> None:
    with dg.instance_for_test() as instance:
        orphan = dg.DagsterRun(
            job_name="j",
            run_id="orphan",
            status=dg.DagsterRunStatus.STARTED,
            tags={OWNER_TAG: dead_owner()},
        )
        mine = dg.DagsterRun(
            job_name="j", run_id="mine", status=dg.DagsterRunStatus.STARTED, tags=run_tags()
        )
        foreign = dg.DagsterRun(job_name="j", run_id="foreign", status=dg.DagsterRunStatus.STARTED)
        for run in (orphan, mine, foreign):
            instance.add_run(run)
        assert fail_orphaned_runs(instance) == ["orphan"]
        statuses = {r.run_id: r.status for r in instance.get_runs()}
        assert statuses == {
            "orphan": dg.DagsterRunStatus.FAILURE,
            "mine": dg.DagsterRunStatus.STARTED,  # this process is alive
            "foreign": dg.DagsterRunStatus.STARTED,  # not launched by the CLI
        }


# --- items 2, 8 and 11 through the CLI ----------------------------------------------------


def test_cli_refuses_a_bad_import_in_one_line_and_later_runs_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    source = tmp_path / "inbox"
    source.mkdir()
    texts = [
        f"my card was stolen, case {i}" if i % 2 else f"fee refund, case {i}" for i in range(30)
    ]
    control = pd.DataFrame({"message_id": range(30), "text": texts}).to_csv(index=False)
    (source / "a.csv").write_text(control, encoding="utf-8")
    (source / "b.csv").write_text(control, encoding="utf-8")  # re-delivered: no new items
    (source / "c.csv").write_text("message_id,text\n", encoding="utf-8")  # header only
    project = write_project(tmp_path, source)
    cli = CliRunner()
    first = cli.invoke(app, ["run", str(project), "--encoder", "hashing"])
    assert first.exit_code == 0, first.output

    data = ProjectData(load_project(project))
    ids = data.tables.read(RAW_ITEMS, "a.csv")["item_id"].tolist()
    good = _answers(tmp_path, "good.csv", [(i, "card_fraud", "erin") for i in ids[:6]])
    bad = _answers(tmp_path, "bad.csv", [("nope", "card_fraud", "erin")])
    refused = cli.invoke(
        app, ["review", "import", str(project), str(good), str(bad), "--encoder", "hashing"]
    )
    assert refused.exit_code == 2
    assert "Traceback" not in refused.output and "Stack Trace" not in refused.output
    output = " ".join(refused.output.split())  # Rich wraps long lines
    assert output.count("error:") == 1 and "none of the 2 was imported" in output
    assert data.reviewed().empty
    retry = cli.invoke(app, ["review", "import", str(project), str(good), "--encoder", "hashing"])
    assert retry.exit_code == 0, retry.output
    assert len(data.reviewed()) == 6
    again = cli.invoke(app, ["run", str(project), "--encoder", "hashing"])  # reviews + b.csv
    assert again.exit_code == 0, again.output
    assert np.isin(ids, data.auto_labels()["item_id"]).all()
