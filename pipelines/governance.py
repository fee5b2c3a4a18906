"""Governance jobs of a text project: release the approved label set; decide on a label set
(approve or reject, four-eyes) through run config, the same as ``labelgate approve``."""

from typing import Literal

import dagster as dg

from assets.common import ProjectAssets
from assets.label_sets import LABEL_EXPORT, LABEL_SET, build_label_set_assets
from assets.models import TRAINED_MODEL
from labelgate.governance.approval import ApprovalRefused, decide
from quality.governance_checks import approved_label_set_check, build_release_checks


class DecisionConfig(dg.Config):
    """Approve (or reject) label set ``version`` as identity ``as_name``."""

    version: int
    as_name: str
    decision: Literal["approve", "reject"] = "approve"
    reason: str = ""


def decision_job(project: ProjectAssets) -> dg.JobDefinition:
    spec = project.spec

    @dg.op(name=f"{project.name}__label_set_decision")
    def decide_label_set(context: dg.OpExecutionContext, config: DecisionConfig) -> None:
        try:
            result = decide(
                spec,
                config.version,
                actor=config.as_name,
                decision=config.decision,
                reason=config.reason,
                run_id=context.run_id,
            )
        except ApprovalRefused as exc:
            raise dg.Failure(description=str(exc)) from exc
        context.log.info(
            f"label set v{config.version} is now {result.label_set.status} "
            f"(ledger row {result.seq})"
        )

    @dg.job(
        name=f"{project.name}__decide_label_set",
        description="Approve or reject a label set (config: version, as_name, decision). "
        "Refused unless as_name is a steward who reviewed none of its labels; refusals "
        "are logged in the ledger.",
    )
    def decide_job() -> None:
        decide_label_set()

    return decide_job


def build_governance_definitions(project: ProjectAssets) -> dg.Definitions:
    release = dg.define_asset_job(
        f"{project.name}__release",
        selection=dg.AssetSelection.assets(project.key(LABEL_EXPORT)),
        description="Export the latest approved label set (PII-gated), with blocking checks.",
    )
    checks = build_release_checks(project, LABEL_EXPORT)
    if getattr(project.spec, "training", None) is not None:  # models train on approved sets
        checks.append(approved_label_set_check(project, project.key(TRAINED_MODEL)))
    return dg.Definitions(
        assets=build_label_set_assets(project),
        asset_checks=checks,
        jobs=[release, decision_job(project)],
    )


__all__ = ["LABEL_SET", "build_governance_definitions"]
