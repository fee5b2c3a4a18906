"""Four-eyes approval of a label set.

A label set becomes ``approved`` only when an identity with the ``steward`` role approves
it who reviewed none of its labels: not as the ``reviewer`` of a human label in the set, and
not in any ``review_decision`` the ledger holds for an item of the set. Rejecting needs the
steward role too. A refused decision is itself a ledger row (``approval_refused``) with the
reasons, written before the error is raised. The status check and the decision row share
one locked ledger transaction, so two stewards cannot both decide the same version.

Names are compared as identities, never as strings: the actor and every reviewer are mapped
to the identity they resolve to or look like (``Identities.owner``), under the identities
file the project has pinned (``identities_pin``); a decision under any other identities file
is refused, and each decision row records the SHA-256 of the file it was made under.

A decision counts only with an Ed25519 signature by the decider's key over the project,
version, content hash, decision, reason and time (``labelgate.governance.signing``); the
decision row keeps the signature, so ``labelgate verify`` can check it again later.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from labelgate.errors import LabelgateError
from labelgate.governance.identities_pin import identities_in_force
from labelgate.governance.signing import (
    DecisionStatement,
    SignedDecision,
    decision_problems,
    now_iso,
    sign,
)
from labelgate.identities import MAX_NAME_LENGTH, STEWARD, Identities, IdentityError, name_problem
from labelgate.label_sets import LabelSet, LabelSetStore
from labelgate.label_sets.store import status_by_version
from labelgate.ledger import Ledger, LedgerEvent
from labelgate.ledger.events import (
    APPROVAL_REFUSED,
    LABEL_SET_APPROVED,
    LABEL_SET_CREATED,
    LABEL_SET_REJECTED,
    REVIEW_DECISION,
)

if TYPE_CHECKING:
    from labelgate.spec import ProjectSpec

Decision = Literal["approve", "reject"]


class ApprovalRefused(LabelgateError):
    """The decision was refused (and the refusal logged in the ledger at ``row``)."""

    def __init__(self, message: str, *, row: int = 0, reasons: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.row = row
        self.reasons = reasons


@dataclass(frozen=True)
class DecisionResult:
    label_set: LabelSet
    seq: int  # ledger row of the decision
    public_key: str = ""  # the key that verified its signature


def reviewers_of(
    label_set: LabelSet, ledger: Ledger, identities: Identities | None = None
) -> dict[str, int]:
    """Everyone who reviewed an item of the set, with how many of its items they reviewed;
    with ``identities``, each reviewer counted as the identity they stand for."""

    def owner(name: str) -> str:
        return identities.owner(name) if identities is not None else name

    items = label_set.item_ids()
    reviewed: dict[str, set[str]] = {}
    labels = label_set.labels()
    for item, reviewer in zip(labels["item_id"], labels["reviewer"], strict=True):
        if reviewer is not None and reviewer == reviewer:
            reviewed.setdefault(owner(str(reviewer)), set()).add(item)
    for event in ledger.events(event=REVIEW_DECISION):
        if event.item_id in items:
            for who in {event.actor, event.payload.get("reviewer")} - {None}:
                reviewed.setdefault(owner(str(who)), set()).add(event.item_id)
    return {name: len(found) for name, found in sorted(reviewed.items())}


def decide(
    spec: "ProjectSpec",
    version: int,
    *,
    actor: str,
    decision: Decision = "approve",
    reason: str = "",
    run_id: str | None = None,
    signed: SignedDecision | None = None,
    key: Ed25519PrivateKey | None = None,
) -> DecisionResult:
    """Approve or reject label set ``version`` as ``actor``; raises ``ApprovalRefused``.

    ``signed`` is a decision signed elsewhere (the Dagster job's); ``key`` signs it here (the
    CLI's). Without either, the decision is refused as unsigned.
    """
    from labelgate.governance.verify import label_set_problems

    if decision not in ("approve", "reject"):
        raise ValueError(f"decision must be 'approve' or 'reject', not {decision!r}")
    ledger = Ledger.for_project(spec)
    store = LabelSetStore(spec, ledger)
    label_set = store.get(version)  # unknown version: a plain error, nothing to log
    problems: list[str] = []
    identities: Identities | None = None
    identity = None
    try:
        identities = identities_in_force(spec, ledger)  # refuses a file other than the pinned
        identity = identities.resolve(actor)
        actor = identity.name  # recorded as the canonical identity
    except IdentityError as exc:
        problems.append(
            str(exc)
            if identities is None
            else f"{actor!r} is not in the identities file {identities.source}: {exc}"
        )
        if name_problem(actor) is not None:  # logged escaped and short, never as written
            actor = ascii(actor)[:MAX_NAME_LENGTH]
    if identity is not None and not identity.has_role(STEWARD):
        roles = ", ".join(identity.roles) or "none"
        problems.append(f"{actor} has role(s) {roles}; deciding on a label set needs {STEWARD}")
    created = store.created_events()[version]
    damage = label_set_problems(label_set.directory, created)
    if decision == "approve":
        problems.extend(damage)  # a modified set is never approved
    if decision == "approve" and not damage:
        reviewed = reviewers_of(label_set, ledger, identities).get(actor, 0)
        if reviewed:
            problems.append(
                f"{actor} reviewed {reviewed} item(s) of label set v{version}; four-eyes rule: "
                "the approver must not have reviewed any of its labels"
            )
    expected = _statement(spec, created, decision=decision, reason=reason, signer=actor)
    if signed is None and key is not None:
        signed = sign(expected, key)
    with ledger.transaction() as tx:
        events = tx.events(event=[LABEL_SET_CREATED, LABEL_SET_APPROVED, LABEL_SET_REJECTED])
        status = status_by_version(events)[version]
        if status != "draft":
            problems.append(f"label set v{version} is already {status}")
        used = {
            e.payload["signature"]: e.seq
            for e in events
            if e.event != LABEL_SET_CREATED and e.payload.get("signature")
        }
        public_key = identity.public_key if identity is not None else None
        if identity is not None:
            problems.extend(decision_problems(signed, expected, public_key=public_key, used=used))
        payload = {
            "version": version,
            "content_sha256": expected.content_sha256,
            "decision": decision,
            "reason": reason,
            "identities_sha256": identities.sha256 if identities is not None else None,
            **signature_fields(signed, public_key),
        }
        if problems:
            row = tx.append(
                APPROVAL_REFUSED,
                {**payload, "refused_because": problems},
                actor=actor,
                run_id=run_id,
            )
        else:
            event = LABEL_SET_APPROVED if decision == "approve" else LABEL_SET_REJECTED
            row = tx.append(event, payload, actor=actor, run_id=run_id)
    assert row is not None
    if problems:
        raise ApprovalRefused(
            f"{decision} of {spec.name} label set v{version} by {actor} refused "
            f"(logged as ledger row {row.seq}): " + "; ".join(problems),
            row=row.seq,
            reasons=tuple(problems),
        )
    return DecisionResult(store.get(version), row.seq, public_key or "")


def signature_fields(signed: SignedDecision | None, public_key: str | None) -> dict[str, str]:
    """What a decision row keeps of its signature (nothing when unsigned)."""
    if signed is None:
        return {}
    return {
        "signature": signed.signature,
        "signed_at": signed.statement.signed_at,
        "signer_key": public_key or "",
    }


def sign_decision(
    spec: "ProjectSpec",
    version: int,
    *,
    actor: str,
    key: Ed25519PrivateKey,
    decision: Decision = "approve",
    reason: str = "",
) -> SignedDecision:
    """Sign a decision on label set ``version`` of ``spec`` (to hand to the Dagster job),
    signed as the identity ``actor`` resolves to under the pinned identities file."""
    ledger = Ledger.for_project(spec)
    actor = identities_in_force(spec, ledger).resolve(actor).name
    store = LabelSetStore(spec, ledger)
    store.get(version)  # unknown version: a plain error
    created = store.created_events()[version]
    return sign(_statement(spec, created, decision=decision, reason=reason, signer=actor), key)


def _statement(
    spec: "ProjectSpec", created: LedgerEvent, *, decision: Decision, reason: str, signer: str
) -> DecisionStatement:
    """What a decision on the label set of ``created`` (its label_set_created row) signs,
    stamped now."""
    return DecisionStatement(
        project=spec.name,
        version=created.payload["version"],
        content_sha256=created.payload["content_sha256"],
        decision=decision,
        reason=reason,
        signer=signer,
        signed_at=now_iso(),
    )
