"""Bring a ledger written before issue 12 under the chained governance state and the anchor.

Such a ledger has commit markers without ``data_committed`` rows, erasures without
``erasure_listed`` rows and no anchor, so ``verify`` names all of them. :func:`adopt_ledger`
(``labelgate ledger adopt PROJECT --as STEWARD``) checks the chain and the files first, then
appends, in one transaction, a ``governance_adopted`` row and the missing rows for the
markers and erasures as they are now; the transaction's anchor signs the head. Adoption
happens once; it refuses a marker whose ``data_committed`` row disagrees and anchors that
do not match (those are edits), and a later truncation or re-hash stays visible against the
anchors. Rows appended before adoption are only as trustworthy as the steward's review.
"""

from typing import TYPE_CHECKING

from labelgate.errors import LabelgateError
from labelgate.governance.identities_pin import identities_in_force
from labelgate.identities import STEWARD
from labelgate.ledger import Commit, Ledger, LedgerEvent
from labelgate.ledger.events import (
    DATA_COMMITTED,
    ERASURE_LISTED,
    GOVERNANCE_ADOPTED,
    ITEM_ERASED,
)

if TYPE_CHECKING:
    from labelgate.spec import ProjectSpec


class AdoptionRefused(LabelgateError):
    """The ledger cannot be adopted (already adopted, damaged, or not a steward)."""


def _unchained(ledger: Ledger) -> tuple[list[Commit], list[str]]:
    """Markers without a ``data_committed`` row and listed erasures without a chained row;
    refuses a marker whose row disagrees (that is an edit, not an old ledger)."""
    latest = {
        (e.payload.get("kind"), e.payload.get("key")): e
        for e in ledger.events(event=DATA_COMMITTED)
    }
    markers = []
    for commit in ledger.commits():
        event = latest.get((commit.kind, commit.key))
        if event is None:
            markers.append(commit)
        elif event.payload.get("sha256") != commit.sha256:
            raise AdoptionRefused(
                f"the commit marker of {commit.kind} {commit.key} differs from its "
                f"data_committed row {event.seq}: it was edited, adoption would hide that"
            )
    chained = {e.item_id for e in ledger.events(event=[ERASURE_LISTED, ITEM_ERASED])}
    return markers, sorted(set(ledger.erasure_list()) - chained)


def adopt_ledger(spec: "ProjectSpec", *, actor: str) -> LedgerEvent:
    from labelgate.governance.state_checks import anchor_problems
    from labelgate.governance.verify import file_problems

    ledger = Ledger.for_project(spec)
    identity = identities_in_force(spec, ledger).resolve(actor)
    if not identity.has_role(STEWARD):
        raise AdoptionRefused(f"{identity.name} is not a {STEWARD}; adopting needs one")
    if ledger.count(GOVERNANCE_ADOPTED):
        raise AdoptionRefused(
            f"the ledger of {spec.name} was adopted already; adoption happens once"
        )
    chain = ledger.verify()
    damage = chain.problems + file_problems(spec, ledger, chain)
    damage += [p for p in anchor_problems(ledger) if not p.startswith("anchor: ")]
    if damage:
        raise AdoptionRefused(f"the ledger must verify before adoption: {damage[0]}")
    markers, listed = _unchained(ledger)
    with ledger.transaction() as tx:
        row = tx.append(
            GOVERNANCE_ADOPTED,
            {"commit_markers": len(markers), "erasures": len(listed)},
            actor=identity.name,
        )
        for commit in markers:
            payload = {
                "kind": commit.kind,
                "key": commit.key,
                "sha256": commit.sha256,
                "path": commit.path,
            }
            tx.append(DATA_COMMITTED, payload, actor=identity.name)
            tx.set_commit_seq(commit.kind, commit.key)
        for item in listed:
            tx.append(ERASURE_LISTED, {"adopted": True}, item_id=item, actor=identity.name)
    assert row is not None
    return row
