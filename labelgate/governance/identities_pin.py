"""The identities file in force is pinned by the project's ledger.

The first time a project needs its identities (a review import, a decision), the file's
SHA-256 and its roster (names and roles, no e-mails) go into the ledger as
``identities_pinned``. From then on every use loads the configured file
(``LABELGATE_IDENTITIES`` or ``governance.identities``) and refuses it unless its SHA-256 is
the one in force, so pointing the env at another file, or editing the file, grants nothing.
A changed file comes into force only by :func:`accept_identities`: an ``identities_accepted``
row made by a steward of the roster in force (``labelgate identities accept --as NAME``).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labelgate.identities import (
    IDENTITIES_ENV,
    STEWARD,
    Identities,
    IdentityError,
    ReviewerResolver,
    fold,
    identities_path,
    load_identities,
    load_identities_file,
    safe_name,
)
from labelgate.ledger import Ledger, LedgerEvent, LedgerTransaction
from labelgate.ledger.events import IDENTITIES_ACCEPTED, IDENTITIES_PINNED

if TYPE_CHECKING:
    from labelgate.spec import ProjectSpec

PIN_EVENTS = (IDENTITIES_PINNED, IDENTITIES_ACCEPTED)


@dataclass(frozen=True)
class Pin:
    """The identities file in force: its SHA-256, roster and the ledger row that set it."""

    sha256: str
    roster: dict[str, tuple[str, ...]]  # name -> roles
    seq: int
    path: str

    @classmethod
    def from_event(cls, event: LedgerEvent) -> "Pin":
        roster = {r["name"]: tuple(r["roles"]) for r in event.payload.get("identities", [])}
        return cls(event.payload["sha256"], roster, event.seq, event.payload.get("path", ""))

    def steward(self, actor: str) -> str | None:
        """The roster name ``actor`` stands for if that identity is a steward."""
        for name, roles in self.roster.items():
            if fold(name) == fold(actor) and STEWARD in roles:
                return name
        return None


def _roster(identities: Identities) -> list[dict[str, Any]]:
    return [{"name": i.name, "roles": list(i.roles)} for i in identities.members()]


def _payload(identities: Identities, **extra: Any) -> dict[str, Any]:
    return {
        "sha256": identities.sha256,
        "path": str(identities.source),
        "identities": _roster(identities),
        **extra,
    }


def pin_in_force(tx: LedgerTransaction) -> Pin | None:
    events = tx.events(event=list(PIN_EVENTS))
    return Pin.from_event(events[-1]) if events else None


def current_pin(ledger: Ledger) -> Pin | None:
    events = ledger.events(event=list(PIN_EVENTS))
    return Pin.from_event(events[-1]) if events else None


def identities_in_force(spec: "ProjectSpec", ledger: Ledger | None = None) -> Identities:
    """The configured identities file if it is the pinned one (pinning it at first use);
    raises ``IdentityError`` naming both hashes when it is not."""
    ledger = ledger or Ledger.for_project(spec)
    identities = load_identities(spec)
    pin = current_pin(ledger)
    if pin is None:
        _first_use_is_the_project_file(spec, identities)
        with ledger.transaction() as tx:
            pin = pin_in_force(tx)
            if pin is None:
                tx.append(IDENTITIES_PINNED, _payload(identities), dedup_key="identities_pinned")
                return identities
    if pin.sha256 != identities.sha256:
        raise IdentityError(
            f"identities file {identities.source} (SHA-256 {identities.sha256[:12]}) is not the "
            f"one project {spec.name} has in force (SHA-256 {pin.sha256[:12]}, {pin.path}, "
            f"ledger row {pin.seq}); a steward accepts a changed file with "
            "`labelgate identities accept --as NAME`"
        )
    return identities


def _first_use_is_the_project_file(spec: "ProjectSpec", identities: Identities) -> None:
    """At first use the env may only name a copy of the project file's identities file."""
    configured = getattr(spec.governance, "identities", None)
    if configured is None or Path(configured) == identities.source:
        return
    own = load_identities_file(Path(configured))
    if own.sha256 != identities.sha256:
        raise IdentityError(
            f"{IDENTITIES_ENV} names {identities.source}, which differs from the project's "
            f"identities file {configured}; the project file's identities come into force "
            "first, a change only by `labelgate identities accept --as NAME`"
        )


def reviewer_resolver(spec: "ProjectSpec", ledger: Ledger | None = None) -> ReviewerResolver:
    """How a review import spells reviewers: the canonical identity name when the project
    names an identities file (the pinned one), else the cleaned, checked name."""
    if identities_path(spec) is None:
        return safe_name
    return identities_in_force(spec, ledger).resolver()


def accept_identities(spec: "ProjectSpec", *, actor: str) -> LedgerEvent | None:
    """Bring the configured identities file into force as ``actor``, who must be a steward of
    the roster in force (any steward of the new file at first use). None when the file is
    already the one in force."""
    identities = load_identities(spec)
    if not any(i.has_role(STEWARD) for i in identities.members()):
        raise IdentityError(
            f"identities file {identities.source} names no {STEWARD}; nobody could approve"
        )
    ledger = Ledger.for_project(spec)
    with ledger.transaction() as tx:
        pin = pin_in_force(tx)
        if pin is None:
            who = identities.get(actor)
            if who is None or not who.has_role(STEWARD):
                raise IdentityError(f"{actor!r} is not a {STEWARD} in {identities.source}")
            return tx.append(IDENTITIES_PINNED, _payload(identities), actor=who.name)
        if pin.sha256 == identities.sha256:
            return None
        name = pin.steward(actor)
        if name is None:
            raise IdentityError(
                f"{actor!r} is not a {STEWARD} of the identities in force (ledger row "
                f"{pin.seq}); only one of {sorted(n for n in pin.roster if pin.steward(n))} "
                "may accept a changed identities file"
            )
        payload = _payload(identities, previous_sha256=pin.sha256)
        return tx.append(IDENTITIES_ACCEPTED, payload, actor=name)
