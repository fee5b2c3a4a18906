"""Re-check the signature of every label-set decision in the ledger.

A decision row (``label_set_approved`` / ``label_set_rejected``) is sound when it carries a
signature that verifies, over the row's own project, version, decision, reason, actor and
time, and over the content hash of that version's ``label_set_created`` row, with a key the
identities file gives to the actor (``public_key`` or one of ``retired_keys``). A row whose
fields were edited, a row signed by a stranger's key, an unsigned row and a signature used
twice are each a problem, even when the hash chain was rebuilt to match.
"""

from typing import TYPE_CHECKING

from labelgate.errors import LabelgateError
from labelgate.governance.signing import DecisionStatement, key_id, signature_valid
from labelgate.identities import load_identities
from labelgate.ledger import Ledger, LedgerEvent
from labelgate.ledger.events import LABEL_SET_APPROVED, LABEL_SET_CREATED, LABEL_SET_REJECTED

if TYPE_CHECKING:
    from labelgate.spec import ProjectSpec

_DECISION_OF = {LABEL_SET_APPROVED: "approve", LABEL_SET_REJECTED: "reject"}


def _row_problem(
    spec: "ProjectSpec",
    event: LedgerEvent,
    content: dict[int, str],
    keys: dict[str, tuple[str, ...]],
    seen: dict[str, int],
) -> str | None:
    payload = event.payload
    where = f"ledger row {event.seq} ({event.event} of v{payload.get('version')} by {event.actor})"
    signature = payload.get("signature")
    if not signature:
        return f"{where}: carries no signature (an unsigned decision)"
    if signature in seen:
        return f"{where}: replays the signature of ledger row {seen[signature]}"
    seen[signature] = event.seq
    version = payload.get("version")
    if version not in content:
        return f"{where}: label set v{version} has no label_set_created row"
    if payload.get("content_sha256") != content[version]:
        return f"{where}: names content {payload.get('content_sha256')!r}, not v{version}'s"
    signer_key = str(payload.get("signer_key", ""))
    if signer_key not in keys.get(str(event.actor), ()):
        return (
            f"{where}: signed with key {key_id(signer_key) if signer_key else '(none)'}, which "
            f"the identities file does not give to {event.actor}"
        )
    statement = DecisionStatement(
        project=spec.name,
        version=int(version),
        content_sha256=content[version],
        decision=_DECISION_OF[event.event],
        reason=str(payload.get("reason", "")),
        signer=str(event.actor),
        signed_at=str(payload.get("signed_at", "")),
    )
    if not signature_valid(statement, str(signature), signer_key):
        return f"{where}: the signature does not verify (the row was altered, or forged)"
    return None


def decision_signature_problems(spec: "ProjectSpec", ledger: Ledger) -> list[str]:
    """One line per decision row whose signature does not hold up."""
    decisions = ledger.events(event=[LABEL_SET_APPROVED, LABEL_SET_REJECTED])
    if not decisions:
        return []
    try:
        identities = load_identities(spec)
    except LabelgateError as exc:
        return [f"decision signatures cannot be checked: {exc}"]
    keys: dict[str, tuple[str, ...]] = {}
    for name in identities.names():
        identity = identities.get(name)
        assert identity is not None
        own = (identity.public_key,) if identity.public_key else ()
        keys[name] = (*own, *identity.retired_keys)
    content = {
        int(e.payload["version"]): str(e.payload["content_sha256"])
        for e in ledger.events(event=LABEL_SET_CREATED)
    }
    seen: dict[str, int] = {}
    problems = [_row_problem(spec, e, content, keys, seen) for e in decisions]
    return [p for p in problems if p is not None]
