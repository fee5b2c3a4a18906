"""The ``{project}__decide_label_set`` job: a signed approve/reject, as ``labelgate approve``.

The launchpad lists the label-set versions and the stewards known when the code location
loaded (``latest_draft`` picks the newest draft at run time). A decision is valid only with
its signature: either ``signed_decision_file`` (written by ``labelgate sign``) or the
``signature`` and ``signed_at`` it printed. A refusal fails the run with a one-line reason
and metadata (no retries, no stack trace); an accepted decision tags the run with the signer
and records the label set's new status as an observation of the ``label_set`` asset.
"""

import enum
import hashlib
import re
from pathlib import Path
from typing import Literal

import dagster as dg

from assets.common import ProjectAssets
from assets.label_sets import LABEL_SET
from labelgate.errors import LabelgateError
from labelgate.governance.approval import ApprovalRefused, DecisionResult, decide
from labelgate.governance.signing import (
    DecisionStatement,
    SignedDecision,
    SigningError,
    key_id,
)
from labelgate.identities import STEWARD, load_identities
from labelgate.label_sets import LabelSetStore
from labelgate.spec import ProjectSpec
from pipelines.governance_job import governance_job

LATEST_DRAFT = "latest_draft"
_SET_DIR = re.compile(r"^v(\d+)$")


def _known_versions(spec: ProjectSpec) -> list[str]:
    """Label-set folders on disk when the code location loads (no ledger access)."""
    root = spec.project_dir / "label_sets"
    found = sorted(
        int(m.group(1))
        for p in (root.iterdir() if root.is_dir() else [])
        if p.is_dir() and (m := _SET_DIR.match(p.name))
    )
    return [LATEST_DRAFT, *(f"v{v}" for v in reversed(found))]


def _identities(spec: ProjectSpec) -> list[str]:
    """Stewards first; everyone is listed, so a refused attempt is still logged."""
    try:
        identities = load_identities(spec)
    except LabelgateError:
        return []
    names = identities.names()
    stewards = [n for n in names if identities.get(n).has_role(STEWARD)]  # type: ignore[union-attr]
    return [*stewards, *(n for n in names if n not in stewards)]


def _enum(spec: ProjectSpec, kind: str, values: list[str]) -> type[enum.Enum]:
    """A Python enum for a launchpad dropdown. Dagster caches config types by name, so the
    name carries the project and a digest of the values (a new version, a new type)."""
    digest = hashlib.sha256("\0".join(values).encode()).hexdigest()[:8]
    return enum.Enum(f"{spec.name}__{kind}_{digest}", {v: v for v in values})  # type: ignore[return-value]


def decision_config(spec: ProjectSpec) -> type[dg.Config]:
    """The launchpad's config: versions and identities as enums, the signature as text."""
    versions = _enum(spec, "label_set_version", _known_versions(spec))
    names = _identities(spec)
    Identity = _enum(spec, "identity", names) if names else str  # type: ignore[misc]

    class DecisionConfig(dg.Config):
        """A signed decision on a label set: ``signed_decision_file`` alone, or version,
        as_name, decision, reason with the ``signature`` and ``signed_at`` of
        ``labelgate sign``."""

        version: versions = versions[LATEST_DRAFT]  # type: ignore[valid-type]
        as_name: Identity | None = None  # type: ignore[valid-type]
        decision: Literal["approve", "reject"] = "approve"
        reason: str = ""
        signature: str = ""
        signed_at: str = ""
        signed_decision_file: str = ""

    return DecisionConfig


def _value(choice: object) -> str | None:
    return None if choice is None else str(getattr(choice, "value", choice))


def resolve_version(spec: ProjectSpec, choice: str) -> int:
    if choice != LATEST_DRAFT:
        return int(choice.removeprefix("v"))
    draft = LabelSetStore(spec).latest(status="draft")
    if draft is None:
        raise SigningError(f"project {spec.name} has no draft label set to decide on")
    return draft.version


def signed_decision_from(spec: ProjectSpec, config: dg.Config) -> SignedDecision | None:
    """The signed decision the run config carries (None when it carries no signature)."""
    as_name = _value(config.as_name)  # type: ignore[attr-defined]
    if config.signed_decision_file:  # type: ignore[attr-defined]
        signed = SignedDecision.read(Path(config.signed_decision_file))  # type: ignore[attr-defined]
        if as_name is not None and as_name != signed.statement.signer:
            raise SigningError(
                f"as_name {as_name} differs from the signer {signed.statement.signer} of "
                f"{config.signed_decision_file}"  # type: ignore[attr-defined]
            )
        return signed
    if as_name is None:
        raise SigningError("as_name is missing: name the steward who signed the decision")
    if not config.signature:  # type: ignore[attr-defined]
        return None
    version = resolve_version(spec, _value(config.version) or LATEST_DRAFT)  # type: ignore[attr-defined]
    store = LabelSetStore(spec)
    statement = DecisionStatement(
        project=spec.name,
        version=version,
        content_sha256=store.created_events()[version].payload["content_sha256"],
        decision=config.decision,  # type: ignore[attr-defined]
        reason=config.reason,  # type: ignore[attr-defined]
        signer=as_name,
        signed_at=config.signed_at,  # type: ignore[attr-defined]
    )
    return SignedDecision(statement, config.signature.strip())  # type: ignore[attr-defined]


def _refuse(message: str, **metadata: str | int | dg.MetadataValue) -> dg.Failure:
    """A failure that shows as one line with its metadata: nothing to retry."""
    return dg.Failure(
        description=message.splitlines()[0], metadata=dict(metadata), allow_retries=False
    )


def _decided(
    context: dg.OpExecutionContext,
    project: ProjectAssets,
    result: DecisionResult,
    signed: SignedDecision,
) -> None:
    label_set = result.label_set
    statement = signed.statement
    context.instance.add_run_tags(
        context.run_id,
        {
            "labelgate/decision": f"{statement.decision} v{label_set.version}",
            "labelgate/signed_by": statement.signer,
            "labelgate/signature": signed.signature[:24] + "…",
        },
    )
    context.log_event(
        dg.AssetObservation(
            asset_key=project.key(LABEL_SET),
            metadata={
                "labelgate/label_set_version": label_set.version,
                "status": label_set.status,
                "decided_by": statement.signer,
                "decided_at": statement.signed_at,
                "reason": statement.reason or "(none given)",
                "signed_with_key": key_id(result.public_key),
                "signature": signed.signature,
                "ledger_row": result.seq,
            },
        )
    )
    context.log.info(
        f"label set v{label_set.version} is now {label_set.status}, signed by "
        f"{statement.signer} (ledger row {result.seq})"
    )


def decision_job(project: ProjectAssets) -> dg.JobDefinition:
    spec = project.spec
    config_class = decision_config(spec)

    @dg.op(name=f"{project.name}__label_set_decision")
    def decide_label_set(context: dg.OpExecutionContext, config: config_class) -> None:  # type: ignore[valid-type]
        try:
            signed = signed_decision_from(spec, config)
            if signed is not None:
                statement = signed.statement
                version, actor = statement.version, statement.signer
                decision, reason = statement.decision, statement.reason
            else:
                version = resolve_version(spec, _value(config.version) or LATEST_DRAFT)
                actor, decision, reason = _value(config.as_name), config.decision, config.reason
            result = decide(
                spec,
                version,
                actor=str(actor),
                decision=decision,  # type: ignore[arg-type]
                reason=reason,
                run_id=context.run_id,
                signed=signed,
            )
        except ApprovalRefused as exc:
            raise _refuse(
                f"{decision} of v{version} by {actor} refused: {exc.reasons[0]}"
                + (f" (+{len(exc.reasons) - 1} more reasons)" if len(exc.reasons) > 1 else ""),
                ledger_row=exc.row,
                version=version,
                as_name=str(actor),
                reasons=dg.MetadataValue.md("\n".join(f"- {r}" for r in exc.reasons)),
            ) from None
        except LabelgateError as exc:
            raise _refuse(str(exc), reasons=str(exc)) from None
        assert signed is not None
        _decided(context, project, result, signed)

    return governance_job(
        f"{project.name}__decide_label_set",
        decide_label_set,
        "Approve or reject a label set with a signed decision (config: "
        "signed_decision_file from `labelgate sign`, or version, as_name, decision, reason, "
        "signature, signed_at). Refused unless the signature verifies with as_name's public "
        "key and as_name is a steward who reviewed none of its labels; refusals are logged "
        "in the ledger.",
    )
