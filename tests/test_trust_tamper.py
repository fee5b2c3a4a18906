"""Issue 12, items 4 and 5: the whole governance state is tamper-evident.

Each edit below leaves a ledger whose chain is consistent on its own (``Ledger.verify`` is
ok where the attacker re-hashed), and ``verify_project`` names it: cutting the latest
approval and setting the head back, re-hashing the whole chain after an edit, editing a
commit marker, deleting an erasure row, an erased item back in a file, an invalid-JSON
payload, a row appended without the project key, an edited anchor line. The first two run
on PostgreSQL too.
"""

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from labelgate.governance.approval import decide
from labelgate.governance.erasure import erase_item
from labelgate.governance.recording import ingest_rows, record_reviews
from labelgate.governance.verify import verify_project
from labelgate.label_sets import publish_label_set
from labelgate.label_sets.store import LABELS_FILE, set_dir_name
from labelgate.ledger import Ledger, dispose_engines
from labelgate.ledger import schema as ledger_schema
from labelgate.ledger.anchor import anchor_for_project
from labelgate.ledger.commit import ledgered_write
from labelgate.ledger.events import (
    DATA_COMMITTED,
    ERASURE_LISTED,
    LABEL_SET_APPROVED,
    LABEL_SET_CREATED,
    REVIEW_DECISION,
)
from labelgate.project import RAW_ITEMS, ProjectData
from labelgate.spec import ProjectSpec
from labelgate_cli.app import app
from tests.conftest import ProjectFactory
from tests.ledger_tamper import rewrite_and_rehash
from tests.signing_keys import demo_key
from tests.test_label_sets import IDENTITIES, LABELS, accepted, reviews_by

EVENTS, HEADS = ledger_schema.events, ledger_schema.heads


@dataclass
class State:
    spec: ProjectSpec
    ledger: Ledger
    items: pd.DataFrame


def _build(spec: ProjectSpec) -> State:
    """Ingested items (a ledgered table), reviews, a label set approved by dana (last row)."""
    ledger = Ledger.for_project(spec)
    frame = accepted(LABELS, reviewers=["alice", None, "erin", None])
    items = pd.DataFrame(
        {
            "item_id": frame["item_id"],
            "text": [f"text {i}" for i in range(len(frame))],
            "batch": "b1",
            "source_file": "inbox.csv",
            "source_row": range(len(frame)),
            "source_id": None,
        }
    )
    tables = ProjectData(spec).tables
    ledgered_write(ledger, tables, RAW_ITEMS, items, "b1", lambda _: ingest_rows(items, "s" * 64))
    record_reviews(ledger, reviews_by(frame), run_id="import-1")
    version = publish_label_set(spec, frame).label_set.version
    decide(spec, version, actor="dana", reason="spot-checked", key=demo_key("dana"))
    assert ledger.events()[-1].event == LABEL_SET_APPROVED
    assert verify_project(spec, ledger).ok, verify_project(spec, ledger).problems
    return State(spec, ledger, items)


@pytest.fixture
def state(make_project: ProjectFactory) -> State:
    return _build(make_project(governance={"identities": str(IDENTITIES)}))


def _named(state: State, *needles: str) -> list[str]:
    result = verify_project(state.spec, state.ledger)
    assert not result.ok
    for needle in needles:
        assert any(needle in p for p in result.problems), (needle, result.problems)
    return result.problems


def _delete_latest_approval_and_set_head_back(ledger: Ledger) -> None:
    (approval,) = ledger.events(event=LABEL_SET_APPROVED)
    with ledger.engine.begin() as db:
        db.execute(
            sa.delete(EVENTS).where(
                EVENTS.c.project == ledger.project, EVENTS.c.seq == approval.seq
            )
        )
        db.execute(
            sa.update(HEADS)
            .where(HEADS.c.project == ledger.project)
            .values(seq=approval.seq - 1, hash=approval.prev_hash)
        )


# --- the tamper cases --------------------------------------------------------------------


def test_deleting_the_latest_approval_and_setting_the_head_back(state: State) -> None:
    _delete_latest_approval_and_set_head_back(state.ledger)
    assert state.ledger.verify().ok  # the chain alone cannot see it
    _named(state, "the ledger has no row", "deleted from the end and the head set back")


def test_re_hashing_the_whole_chain_after_an_edit(state: State) -> None:
    (erin,) = [e for e in state.ledger.events(event=REVIEW_DECISION) if e.actor == "erin"]
    rewrite_and_rehash(state.ledger, erin.seq, actor="alice")  # hide erin's review
    assert state.ledger.verify().ok  # a consistent chain again
    _named(state, "the chain was rewritten and re-hashed")


def test_editing_a_commit_marker(state: State) -> None:
    # swap the table file for another and make the marker vouch for it
    data = ProjectData(state.spec)
    path = data.tables.path(RAW_ITEMS, "b1")
    swapped = state.items.assign(text=state.items["text"].str.upper())
    swapped.to_parquet(path, index=False)
    from labelgate.ids import sha256_file

    commits = ledger_schema.commits
    with state.ledger.engine.begin() as db:
        db.execute(
            sa.update(commits)
            .where(commits.c.project == state.spec.name, commits.c.kind == "table")
            .values(sha256=sha256_file(path))
        )
    problems = _named(state, "the commit marker of table raw_items/b1", "the marker was edited")
    assert not any(str(path) in p and "SHA-256 differs" in p for p in problems)  # file matches


def test_deleting_a_commit_marker(state: State) -> None:
    commits = ledger_schema.commits
    with state.ledger.engine.begin() as db:
        db.execute(sa.delete(commits).where(commits.c.kind == "table"))
    _named(state, "the commit marker of table raw_items/b1 recorded at row", "is missing")


def test_deleting_an_erasure_row_is_named_and_brings_nothing_back(state: State) -> None:
    item = state.items["item_id"].iloc[1]
    erase_item(state.spec, item, reason="GDPR request 17", actor="dana")
    assert verify_project(state.spec, state.ledger).ok
    assert [e.item_id for e in state.ledger.events(event=ERASURE_LISTED)] == [item]
    erasures = ledger_schema.erasures
    with state.ledger.engine.begin() as db:
        db.execute(sa.delete(erasures).where(erasures.c.item_id == item))
    _named(state, f"item {item} was erased", "missing from the erasures table")
    assert item in state.ledger.erased_items()  # ingest and publishing still leave it out


def test_an_erased_item_back_in_a_file_is_named(state: State) -> None:
    item = state.items["item_id"].iloc[1]
    erase_item(state.spec, item, reason="GDPR request 18", actor="dana")
    queue = ProjectData(state.spec).queue_dir / "review_queue.csv"
    queue.parent.mkdir(parents=True, exist_ok=True)
    queue.write_text(f"item_id,text\n{item},text 1\n", encoding="utf-8")
    _named(state, f"item {item} was erased", "review_queue.csv")


def test_an_invalid_json_payload_is_named_not_a_crash(state: State) -> None:
    (created,) = [e.seq for e in state.ledger.events(event=LABEL_SET_CREATED)]
    with state.ledger.engine.begin() as db:
        db.execute(
            sa.update(EVENTS)
            .where(EVENTS.c.project == state.spec.name, EVENTS.c.seq == created)
            .values(payload='{"version": 1, "files": ')
        )
    _named(state, f"row {created}", "payload is not valid JSON")
    result = CliRunner().invoke(app, ["verify", str(state.spec.spec_path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "verification failed" in result.output


def test_rows_appended_without_the_project_key(state: State) -> None:
    keyless = Ledger(state.ledger.url, state.spec.name)  # the code, no anchor key
    keyless.append(LABEL_SET_APPROVED, {"version": 1, "decision": "approve"}, actor="mallory")
    assert keyless.verify().ok
    _named(state, "come after the last signed anchor")


def test_an_edited_or_deleted_anchor_file(state: State) -> None:
    anchor = anchor_for_project(state.spec)
    lines = anchor.file.read_text(encoding="utf-8").splitlines()
    lines[-1] = lines[-1].replace('"seq":', '"seq":1', 1)  # move the last anchor
    anchor.file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _named(state, f"line {len(lines)}", "signature does not verify")
    anchor.file.unlink()
    _named(state, "holds no signed anchor")


def test_anchors_are_signed_heads_and_commit_markers_are_chained(state: State) -> None:
    anchor = anchor_for_project(state.spec)
    entries, problems = anchor.entries(state.spec.name)
    assert problems == [] and entries[-1].seq == state.ledger.last_seq()
    assert entries[-1].hash == state.ledger.head()
    assert anchor.key.stat().st_mode & 0o077 == 0  # the private key is private
    committed = {e.payload["key"] for e in state.ledger.events(event=DATA_COMMITTED)}
    assert committed == {c.key for c in state.ledger.commits()}


# --- on PostgreSQL ------------------------------------------------------------------------


@pytest.fixture
def pg_state(make_project: ProjectFactory, postgres_url: str) -> Iterator[State]:
    spec = make_project(governance={"identities": str(IDENTITIES), "ledger_url": postgres_url})
    yield _build(spec)
    dispose_engines()


@pytest.mark.postgres
def test_truncation_and_re_hashing_are_named_on_postgres(pg_state: State) -> None:
    assert pg_state.ledger.engine.dialect.name == "postgresql"
    (erin,) = [e for e in pg_state.ledger.events(event=REVIEW_DECISION) if e.actor == "erin"]
    rewrite_and_rehash(pg_state.ledger, erin.seq, actor="alice")
    assert pg_state.ledger.verify().ok
    _named(pg_state, "the chain was rewritten and re-hashed")
    _delete_latest_approval_and_set_head_back(pg_state.ledger)
    _named(pg_state, "deleted from the end and the head set back")


def test_anchor_key_location_is_configurable(
    make_project: ProjectFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, file = tmp_path / "vault" / "k.pem", tmp_path / "worm" / "anchors.jsonl"
    monkeypatch.setenv("LABELGATE_ANCHOR_KEY", str(key))
    monkeypatch.setenv("LABELGATE_ANCHOR_FILE", str(file))
    spec = make_project()
    Ledger.for_project(spec).append("note", {"n": 1})
    assert key.is_file() and key.with_name("k.pem.pub").is_file() and file.is_file()
    assert not (spec.project_dir / "keys").exists()
    assert verify_project(spec).ok


# --- a ledger written before issue 12 -----------------------------------------------------


def test_a_ledger_from_before_issue_12_is_adopted_once(make_project: ProjectFactory) -> None:
    from labelgate.ids import sha256_file
    from labelgate.ledger import ledger_url
    from labelgate.ledger.events import GOVERNANCE_ADOPTED

    spec = make_project(governance={"identities": str(IDENTITIES)})
    legacy = Ledger(ledger_url(spec), spec.name)  # as the old code wrote it: no anchor
    items = _build_items()
    tables = ProjectData(spec).tables
    tables.write(RAW_ITEMS, items, "b1")
    path = tables.path(RAW_ITEMS, "b1")
    legacy.append_many(ingest_rows(items, "s" * 64))
    with legacy.engine.begin() as db:  # a marker and an erasure without chained rows
        seq = legacy.last_seq()
        db.execute(
            ledger_schema.commits.insert().values(
                project=spec.name,
                kind="table",
                key="raw_items/b1",
                sha256=sha256_file(path),
                path=str(path),
                seq=seq,
            )
        )
        db.execute(
            ledger_schema.erasures.insert().values(project=spec.name, item_id="gone", seq=seq)
        )
    state = State(spec, Ledger.for_project(spec), items)
    _named(state, "has no data_committed row", "holds no signed anchor", "without an erasure row")

    project = str(spec.spec_path)
    refused = CliRunner().invoke(app, ["ledger", "adopt", project, "--as", "alice"])
    assert refused.exit_code == 2 and "not a steward" in refused.output
    adopted = CliRunner().invoke(app, ["ledger", "adopt", project, "--as", "dana"])
    assert adopted.exit_code == 0, adopted.output
    assert verify_project(spec).ok, verify_project(spec).problems
    (row,) = state.ledger.events(event=GOVERNANCE_ADOPTED)
    assert row.payload == {"commit_markers": 1, "erasures": 1} and row.actor == "dana"
    again = CliRunner().invoke(app, ["ledger", "adopt", project, "--as", "dana"])
    assert again.exit_code == 2 and "adoption happens once" in again.output
    with state.ledger.engine.begin() as db:  # cut the adoption: the anchor still names it
        db.execute(sa.delete(EVENTS).where(EVENTS.c.project == spec.name, EVENTS.c.seq >= row.seq))
        db.execute(
            sa.update(HEADS)
            .where(HEADS.c.project == spec.name)
            .values(seq=row.seq - 1, hash=row.prev_hash)
        )
    _named(state, "deleted from the end and the head set back")


def _build_items() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": [f"item{i:03d}" for i in range(3)],
            "text": ["a", "b", "c"],
            "batch": "b1",
            "source_file": "inbox.csv",
            "source_row": range(3),
            "source_id": None,
        }
    )


def test_an_erasure_listed_outside_labelgate_is_named(state: State) -> None:
    item = state.items["item_id"].iloc[2]
    with state.ledger.engine.begin() as db:
        db.execute(
            sa.insert(ledger_schema.erasures).values(project=state.spec.name, item_id=item, seq=1)
        )
    _named(state, f"lists item {item} (row 1) without an erasure row in the chain")


def test_an_erased_item_back_in_a_cache_is_named(state: State) -> None:
    item = state.items["item_id"].iloc[1]
    erase_item(state.spec, item, reason="GDPR request 19", actor="dana")
    cache = state.spec.storage / "_cache" / "embeddings.sqlite"
    cache.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(cache) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS vectors (item_id TEXT, vector BLOB)")
        conn.execute("INSERT INTO vectors VALUES (?, x'00')", (item,))
    conn.close()
    _named(state, f"item {item} was erased", "embeddings.sqlite (vectors)")


def test_an_erased_item_in_a_later_label_set_file_is_named(state: State) -> None:
    item = state.items["item_id"].iloc[1]
    erase_item(state.spec, item, reason="GDPR request 20", actor="dana")
    frame = accepted(LABELS, reviewers=["alice", None, "erin", None])
    version = publish_label_set(state.spec, frame).label_set.version
    path = state.spec.project_dir / "label_sets" / set_dir_name(version) / LABELS_FILE
    labels = pd.read_parquet(path)
    assert item not in set(labels["item_id"])  # publishing left it out
    pd.concat([labels, frame[frame["item_id"] == item]]).to_parquet(path)
    _named(state, f"item {item} was erased", LABELS_FILE)
