"""Ledger edits an attacker with write access to the database could make, for tamper tests."""

import sqlalchemy as sa

from labelgate.ledger import Ledger
from labelgate.ledger import schema as ledger_schema
from labelgate.ledger.hashing import stored_row_hash

EVENTS, HEADS = ledger_schema.events, ledger_schema.heads


def rewrite_and_rehash(ledger: Ledger, seq: int, **changes: object) -> None:
    """Edit row ``seq`` and recompute every hash from there on, and the head: a chain that
    is consistent again, as someone with write access to the database could make it."""
    with ledger.engine.begin() as db:
        db.execute(
            sa.update(EVENTS)
            .where(EVENTS.c.project == ledger.project, EVENTS.c.seq == seq)
            .values(**changes)
        )
        rows = db.execute(
            sa.select(EVENTS).where(EVENTS.c.project == ledger.project).order_by(EVENTS.c.seq)
        ).all()
        prev = ""
        for row in rows:
            digest = stored_row_hash(row, prev_hash=prev)
            db.execute(
                sa.update(EVENTS)
                .where(EVENTS.c.project == ledger.project, EVENTS.c.seq == row.seq)
                .values(prev_hash=prev, hash=digest)
            )
            prev = digest
        db.execute(
            sa.update(HEADS)
            .where(HEADS.c.project == ledger.project)
            .values(seq=int(rows[-1].seq), hash=prev)
        )
