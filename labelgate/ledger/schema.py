"""The ledger's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

``ledger_events`` is the chain: one row per event, per project, numbered 1, 2, 3 ... with
the previous row's hash. ``ledger_heads`` holds each project's last sequence number and hash;
appends lock that row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
locks the whole file) so concurrent writers queue instead of forking the chain.
``ledger_commits`` are data-commit markers: which file content a table partition holds,
written in the same transaction as the ledger rows that describe it.
``erasures`` lists erased items so a re-ingest of their source does not bring them back.
"""

import sqlalchemy as sa

metadata = sa.MetaData()

events = sa.Table(
    "ledger_events",
    metadata,
    sa.Column("project", sa.String(100), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("event", sa.String(100), nullable=False),
    sa.Column("item_id", sa.String(200), nullable=True),
    sa.Column("run_id", sa.String(100), nullable=True),
    sa.Column("actor", sa.String(200), nullable=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    # Idempotency key: a row whose key is already in the ledger is not appended again, so
    # re-applying the same data after a crash duplicates nothing. Not part of the hash.
    sa.Column("dedup_key", sa.String(400), nullable=True),
    sa.Index("ix_ledger_events_item", "project", "item_id"),
    sa.Index("ix_ledger_events_event", "project", "event"),
    sa.Index("ux_ledger_events_dedup", "project", "dedup_key", unique=True),
)

heads = sa.Table(
    "ledger_heads",
    metadata,
    sa.Column("project", sa.String(100), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

commits = sa.Table(
    "ledger_commits",
    metadata,
    sa.Column("project", sa.String(100), primary_key=True),
    sa.Column("kind", sa.String(100), primary_key=True),
    sa.Column("key", sa.String(400), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
)

erasures = sa.Table(
    "erasures",
    metadata,
    sa.Column("project", sa.String(100), primary_key=True),
    sa.Column("item_id", sa.String(200), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
)
