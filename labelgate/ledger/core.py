"""The audit ledger: append-only, hash-chained, one chain per project, in SQLAlchemy.

SQLite (a file beside the project's tables) by default, PostgreSQL when a URL is configured.
Every append runs in a transaction that first locks the project's head row, so appends from
several processes are serialized and each row's ``prev_hash`` is the hash of the row before
it. Data files that a set of rows describes are tied to them by a commit marker written in
the same transaction (see ``labelgate.ledger.commit``).

The tables that steer behaviour beside the chain are chained too: setting a commit marker
appends a ``data_committed`` row and putting an item on the erasure list an
``erasure_listed`` row, in the same transaction, so ``verify`` can compare them. After each
transaction that appended rows, the new head is signed and appended to the project's anchor
file (``labelgate.ledger.anchor``) when the ledger was opened for a project.
"""

import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from labelgate.errors import LabelgateError
from labelgate.ledger import schema
from labelgate.ledger.anchor import Anchor, anchor_for_project
from labelgate.ledger.events import DATA_COMMITTED, ERASURE_LISTED, ITEM_ERASED
from labelgate.ledger.hashing import canonical_json, row_hash, stored_row_hash

if TYPE_CHECKING:
    from labelgate.spec import ProjectSpec

LEDGER_URL_ENV = "LABELGATE_LEDGER_URL"
_DEDUP_QUERY_CHUNK = 500

# A ledger row to append in bulk: (event, payload, item_id) or
# (event, payload, item_id, dedup_key); rows whose dedup_key is already there are skipped.
LedgerRow = tuple[str, dict[str, Any], str | None] | tuple[str, dict[str, Any], str | None, str]


class LedgerError(LabelgateError):
    """The ledger cannot be opened or written."""


@dataclass(frozen=True)
class LedgerEvent:
    seq: int
    event: str
    payload: dict[str, Any]
    item_id: str | None
    run_id: str | None
    actor: str | None
    at: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of walking a chain (and, from ``verify_project``, the files it vouches for).

    ``first_bad`` names the first row or file that does not match; ``problems`` lists all.
    """

    ok: bool
    rows: int
    head: str
    first_bad: str | None = None
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Commit:
    """A data-commit marker: table partition ``key`` of ``kind`` holds the file ``sha256``."""

    kind: str
    key: str
    sha256: str
    path: str
    seq: int


_ENGINES: dict[str, sa.Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 120})

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _create_tables(engine: sa.Engine, attempts: int = 5) -> None:
    """Create the tables; two processes opening a new ledger at once may race on CREATE
    TABLE, and the loser finds the tables there on its next try."""
    for attempt in range(attempts):
        try:
            schema.metadata.create_all(engine)
            return
        except (sa.exc.OperationalError, sa.exc.IntegrityError, sa.exc.ProgrammingError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def get_engine(url: str) -> sa.Engine:
    """One engine per URL and process, with the ledger's tables created."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            parsed = sa.make_url(url)
            try:
                if parsed.get_backend_name() == "sqlite":
                    engine = _sqlite_engine(parsed)
                else:
                    engine = sa.create_engine(parsed, pool_pre_ping=True)
                _create_tables(engine)
            except sa.exc.SQLAlchemyError as exc:
                raise LedgerError(f"cannot open the ledger at {parsed!r}: {exc}") from exc
            _ENGINES[url] = engine
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests dropping a database call this first)."""
    with _ENGINES_LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _payload(row: sa.Row) -> dict[str, Any]:
    import json

    try:
        payload = json.loads(row.payload)
    except (TypeError, ValueError) as exc:
        raise LedgerError(
            f"ledger row {int(row.seq)} ({row.event}): payload is not valid JSON ({exc}); "
            "the row was edited outside labelgate"
        ) from None
    if not isinstance(payload, dict):
        raise LedgerError(f"ledger row {int(row.seq)} ({row.event}): payload is not an object")
    return payload


def _to_event(row: sa.Row) -> LedgerEvent:
    return LedgerEvent(
        seq=int(row.seq),
        event=row.event,
        payload=_payload(row),
        item_id=row.item_id,
        run_id=row.run_id,
        actor=row.actor,
        at=row.at,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class _Appends(ABC):
    """``append`` (one row) in terms of ``append_many``, for a ledger and its transactions."""

    @abstractmethod
    def append_many(
        self, rows: Sequence[LedgerRow], *, run_id: str | None = None, actor: str | None = None
    ) -> list[LedgerEvent]: ...

    def append(
        self,
        event: str,
        payload: dict[str, Any],
        *,
        item_id: str | None = None,
        run_id: str | None = None,
        actor: str | None = None,
        dedup_key: str | None = None,
    ) -> LedgerEvent | None:
        """Append one row; None when ``dedup_key`` was already recorded."""
        row: LedgerRow = (
            (event, payload, item_id) if dedup_key is None else (event, payload, item_id, dedup_key)
        )
        appended = self.append_many([row], run_id=run_id, actor=actor)
        return appended[0] if appended else None


class LedgerTransaction(_Appends):
    """Appends inside one locked transaction; nothing is visible until it commits."""

    def __init__(self, ledger: "Ledger", connection: sa.Connection) -> None:
        self.ledger = ledger
        self.connection = connection
        self.project = ledger.project
        self._lock_head()

    def _lock_head(self) -> None:
        values = {"project": self.project, "seq": 0, "hash": ""}
        dialect = self.connection.dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(schema.heads)
        self.connection.execute(insert.values(**values).on_conflict_do_nothing())
        query = sa.select(schema.heads.c.seq, schema.heads.c.hash).where(
            schema.heads.c.project == self.project
        )
        if dialect == "postgresql":
            query = query.with_for_update()
        row = self.connection.execute(query).one()
        self.seq, self.hash = int(row.seq), row.hash
        self._start_seq = self.seq

    def _existing_keys(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        column = schema.events.c.dedup_key
        for start in range(0, len(keys), _DEDUP_QUERY_CHUNK):
            chunk = list(keys[start : start + _DEDUP_QUERY_CHUNK])
            query = sa.select(column).where(
                schema.events.c.project == self.project, column.in_(chunk)
            )
            found.update(self.connection.execute(query).scalars())
        return found

    def append_many(
        self,
        rows: Sequence[LedgerRow],
        *,
        run_id: str | None = None,
        actor: str | None = None,
    ) -> list[LedgerEvent]:
        """Append rows in order; rows whose dedup key is already recorded are skipped."""
        keys = [row[3] for row in rows if len(row) > 3 and row[3] is not None]  # type: ignore[misc]
        existing = self._existing_keys(keys) if keys else set()
        records: list[dict[str, Any]] = []
        appended: list[LedgerEvent] = []
        at = _now()
        for row in rows:
            event, payload, item_id = row[0], row[1], row[2]
            key = row[3] if len(row) > 3 else None  # type: ignore[misc]
            if key is not None:
                if key in existing:
                    continue
                existing.add(key)
            text = canonical_json(payload)
            seq = self.seq + 1
            hashed = {
                "project": self.project,
                "seq": seq,
                "at": at,
                "event": event,
                "item_id": item_id,
                "run_id": run_id,
                "actor": actor,
                "payload": text,
                "prev_hash": self.hash,
            }
            digest = row_hash(**hashed)
            records.append({**hashed, "hash": digest, "dedup_key": key})
            appended.append(
                LedgerEvent(
                    seq, event, dict(payload), item_id, run_id, actor, at, self.hash, digest
                )
            )
            self.seq, self.hash = seq, digest
        if records:
            self.connection.execute(schema.events.insert(), records)
        return appended

    def set_commit(self, kind: str, key: str, sha256: str, path: str) -> None:
        """Record that partition ``key`` of ``kind`` now holds the file with ``sha256``: the
        marker and its ``data_committed`` row (nothing when the marker is unchanged)."""
        table = schema.commits
        where = sa.and_(table.c.project == self.project, table.c.kind == kind, table.c.key == key)
        current = self.connection.execute(sa.select(table.c.sha256, table.c.path).where(where))
        found = current.first()
        if found is not None and (found.sha256, found.path) == (sha256, path):
            return
        payload = {"kind": kind, "key": key, "sha256": sha256, "path": path}
        self.append(DATA_COMMITTED, payload)
        values = {"sha256": sha256, "path": path, "seq": self.seq}
        if found is not None:
            self.connection.execute(table.update().where(where).values(**values))
        else:
            self.connection.execute(
                table.insert().values(project=self.project, kind=kind, key=key, **values)
            )

    def set_commit_seq(self, kind: str, key: str) -> None:
        """Point marker ``(kind, key)`` at the last row appended (its ``data_committed``)."""
        table = schema.commits
        where = sa.and_(table.c.project == self.project, table.c.kind == kind, table.c.key == key)
        self.connection.execute(table.update().where(where).values(seq=self.seq))

    def add_erasure(self, item_id: str, *, actor: str | None = None) -> None:
        """Put ``item_id`` on the erasure list, with its ``erasure_listed`` row."""
        table = schema.erasures
        exists = self.connection.execute(
            sa.select(table.c.item_id).where(
                table.c.project == self.project, table.c.item_id == item_id
            )
        ).first()
        if exists is None:
            self.append(ERASURE_LISTED, {}, item_id=item_id, actor=actor)
            self.connection.execute(
                table.insert().values(project=self.project, item_id=item_id, seq=self.seq)
            )

    def events(self, **filters: Any) -> list[LedgerEvent]:
        return self.ledger._select_events(self.connection, **filters)

    def _finish(self) -> None:
        if self.seq != self._start_seq:
            self.connection.execute(
                schema.heads.update()
                .where(schema.heads.c.project == self.project)
                .values(seq=self.seq, hash=self.hash)
            )


class Ledger(_Appends):
    """Append-only, hash-chained audit ledger of one project (SQLite file or PostgreSQL)."""

    def __init__(self, url: str, project: str, anchor: Anchor | None = None) -> None:
        self.url = url
        self.project = project
        self.engine = get_engine(url)
        self.anchor = anchor

    @classmethod
    def for_project(cls, spec: "ProjectSpec") -> "Ledger":
        """URL from env ``LABELGATE_LEDGER_URL``, else ``governance.ledger_url`` of the
        project file, else the SQLite file ``{project_dir}/ledger.sqlite``; heads anchored
        in the project's anchor file."""
        return cls(ledger_url(spec), spec.name, anchor_for_project(spec))

    # --- writing ------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[LedgerTransaction]:
        """A locked write transaction: appends commit together or not at all."""
        try:
            with self.engine.connect() as connection:
                connection = connection.execution_options(sqlite_begin="IMMEDIATE")
                with connection.begin():
                    tx = LedgerTransaction(self, connection)
                    yield tx
                    tx._finish()
        except sa.exc.OperationalError as exc:
            raise LedgerError(f"ledger {self._where()} is not writable: {exc}") from exc
        if self.anchor is not None and tx.seq != tx._start_seq:
            self.anchor.record(self.project, tx.seq, tx.hash)  # after the commit: only heads
            # that exist are anchored

    def append_many(
        self,
        rows: Sequence[LedgerRow],
        *,
        run_id: str | None = None,
        actor: str | None = None,
        connection: LedgerTransaction | None = None,
    ) -> list[LedgerEvent]:
        """Append rows in one transaction (or inside ``connection``, an open transaction)."""
        if connection is not None:
            return connection.append_many(rows, run_id=run_id, actor=actor)
        with self.transaction() as tx:
            return tx.append_many(rows, run_id=run_id, actor=actor)

    # --- reading ------------------------------------------------------------------------
    def _select_events(
        self,
        connection: sa.Connection,
        *,
        item_id: str | None = None,
        event: str | Sequence[str] | None = None,
        run_id: str | None = None,
        after_seq: int = 0,
    ) -> list[LedgerEvent]:
        table = schema.events
        query = sa.select(table).where(table.c.project == self.project, table.c.seq > after_seq)
        if item_id is not None:
            query = query.where(table.c.item_id == item_id)
        if isinstance(event, str):
            query = query.where(table.c.event == event)
        elif event is not None:
            query = query.where(table.c.event.in_(list(event)))
        if run_id is not None:
            query = query.where(table.c.run_id == run_id)
        return [_to_event(row) for row in connection.execute(query.order_by(table.c.seq))]

    def events(
        self,
        *,
        item_id: str | None = None,
        event: str | Sequence[str] | None = None,
        run_id: str | None = None,
        after_seq: int = 0,
    ) -> list[LedgerEvent]:
        """Rows in chain order, optionally only those of an item, event kind(s) or run."""
        with self.engine.connect() as connection:
            return self._select_events(
                connection, item_id=item_id, event=event, run_id=run_id, after_seq=after_seq
            )

    def count(self, event: str | None = None) -> int:
        table = schema.events
        query = sa.select(sa.func.count()).where(table.c.project == self.project)
        if event is not None:
            query = query.where(table.c.event == event)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def head(self) -> str:
        """Hash of the last row ("" while the ledger is empty)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(schema.heads.c.hash).where(schema.heads.c.project == self.project)
            ).first()
        return row.hash if row is not None else ""

    def commits(self, kind: str | None = None) -> list[Commit]:
        table = schema.commits
        query = sa.select(table).where(table.c.project == self.project)
        if kind is not None:
            query = query.where(table.c.kind == kind)
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(table.c.kind, table.c.key)).all()
        return [Commit(r.kind, r.key, r.sha256, r.path, int(r.seq)) for r in rows]

    def erased_items(self) -> set[str]:
        """Items on the erasure list or erased according to the chain (so deleting a row of
        the ``erasures`` table brings nothing back)."""
        table, events = schema.erasures, schema.events
        with self.engine.connect() as connection:
            query = sa.select(table.c.item_id).where(table.c.project == self.project)
            listed = set(connection.execute(query).scalars())
            chained = sa.select(events.c.item_id).where(
                events.c.project == self.project,
                events.c.event.in_([ERASURE_LISTED, ITEM_ERASED]),
            )
            return listed | {i for i in connection.execute(chained).scalars() if i is not None}

    def erasure_list(self) -> dict[str, int]:
        """The ``erasures`` table as it is: item id -> ledger row it was listed at."""
        table = schema.erasures
        with self.engine.connect() as connection:
            query = sa.select(table.c.item_id, table.c.seq).where(table.c.project == self.project)
            return {row.item_id: int(row.seq) for row in connection.execute(query)}

    def last_seq(self) -> int:
        """The highest row number in the chain (0 while empty), whatever the head says."""
        table = schema.events
        query = sa.select(sa.func.max(table.c.seq)).where(table.c.project == self.project)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one() or 0)

    def hashes_at(self, seqs: Sequence[int]) -> dict[int, str]:
        """The hash of each existing row among ``seqs``."""
        table, found = schema.events, {}
        wanted = sorted(set(seqs))
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), _DEDUP_QUERY_CHUNK):
                chunk = wanted[start : start + _DEDUP_QUERY_CHUNK]
                query = sa.select(table.c.seq, table.c.hash).where(
                    table.c.project == self.project, table.c.seq.in_(chunk)
                )
                found.update({int(r.seq): r.hash for r in connection.execute(query)})
        return found

    def verify(self) -> VerifyResult:
        """Walk the chain from the first row: recompute each hash, check each link and the
        numbering, and that the head row points at the last row. Names the first bad row."""
        table = schema.events
        problems: list[str] = []
        prev_hash, expected_seq, rows = "", 1, 0
        query = (
            sa.select(table)
            .where(table.c.project == self.project)
            .order_by(table.c.seq)
            .execution_options(yield_per=5000)
        )
        with self.engine.connect() as connection:
            for row in connection.execute(query):
                rows += 1
                seq = int(row.seq)
                if seq != expected_seq:
                    problems.append(
                        f"row {seq}: expected row {expected_seq} here (a row was deleted or "
                        "the order changed)"
                    )
                if row.prev_hash != prev_hash:
                    problems.append(f"row {seq}: prev_hash does not match row {seq - 1}'s hash")
                if stored_row_hash(row, prev_hash=row.prev_hash) != row.hash:
                    problems.append(f"row {seq}: content does not match its hash (tampered)")
                try:
                    _payload(row)
                except LedgerError as exc:
                    problems.append(f"row {seq}: {exc}")
                prev_hash, expected_seq = row.hash, seq + 1
                if len(problems) >= 20:
                    break
            head = connection.execute(
                sa.select(schema.heads).where(schema.heads.c.project == self.project)
            ).first()
        if (
            head is not None
            and not problems
            and (int(head.seq), head.hash)
            != (
                expected_seq - 1,
                prev_hash,
            )
        ):
            problems.append(
                f"row {int(head.seq)}: the head says the chain ends at row {int(head.seq)} "
                f"but it ends at row {expected_seq - 1} (rows were deleted from the end)"
            )
        return VerifyResult(
            ok=not problems,
            rows=rows,
            head=prev_hash,
            first_bad=problems[0] if problems else None,
            problems=problems,
        )

    def _where(self) -> str:
        return repr(sa.make_url(self.url))


def ledger_url(spec: "ProjectSpec") -> str:
    from_env = os.environ.get(LEDGER_URL_ENV)
    if from_env:
        return from_env
    governance = getattr(spec, "governance", None)
    configured = getattr(governance, "ledger_url", None)
    if configured:
        return configured
    return f"sqlite:///{spec.project_dir / 'ledger.sqlite'}"
