"""Governance of a project, any modality: its label_set and label_export assets, the release
job with its blocking checks, and the decide (a signed approve or reject, four-eyes, as
``labelgate approve``) and trace (``labelgate trace``) jobs."""

import dagster as dg

from assets.common import ProjectAssets
from assets.label_sets import LABEL_EXPORT, LABEL_SET, build_label_set_assets
from pipelines.decisions import decision_job
from pipelines.trace_job import trace_job
from quality.gate_check import build_gate_check
from quality.governance_checks import build_release_checks


def build_governance_definitions(project: ProjectAssets) -> dg.Definitions:
    release = dg.define_asset_job(
        f"{project.name}__release",
        selection=dg.AssetSelection.assets(project.key(LABEL_EXPORT)),
        description="Export the latest approved label set, with its blocking checks.",
    )
    return dg.Definitions(
        assets=build_label_set_assets(project),
        asset_checks=[*build_release_checks(project, LABEL_EXPORT), build_gate_check(project)],
        jobs=[release, decision_job(project), trace_job(project)],
    )


__all__ = ["LABEL_SET", "build_governance_definitions"]
