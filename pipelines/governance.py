"""Governance jobs of a text project: release the approved label set; decide on a label set
(a signed approve or reject, four-eyes) through run config, the same as ``labelgate
approve``; trace an item (``labelgate trace``)."""

import dagster as dg

from assets.common import ProjectAssets
from assets.image_release import build_image_release_asset
from assets.label_sets import LABEL_EXPORT, LABEL_SET, build_label_set_assets
from assets.models import TRAINED_MODEL
from pipelines.decisions import decision_job
from pipelines.trace_job import trace_job
from quality.gate_check import build_gate_check
from quality.governance_checks import approved_label_set_check, build_release_checks


def build_governance_definitions(project: ProjectAssets) -> dg.Definitions:
    release = dg.define_asset_job(
        f"{project.name}__release",
        selection=dg.AssetSelection.assets(project.key(LABEL_EXPORT)),
        description="Export the latest approved label set (PII-gated), with blocking checks.",
    )
    checks = [*build_release_checks(project, LABEL_EXPORT), build_gate_check(project)]
    if getattr(project.spec, "training", None) is not None:  # models train on approved sets
        checks.append(approved_label_set_check(project, project.key(TRAINED_MODEL)))
    return dg.Definitions(
        assets=build_label_set_assets(project),
        asset_checks=checks,
        jobs=[release, decision_job(project), trace_job(project)],
    )


def build_image_governance_definitions(project: ProjectAssets) -> dg.Definitions:
    """The same release, decide and trace jobs for an image project (its label_set asset
    comes with the image assets)."""
    release = dg.define_asset_job(
        f"{project.name}__release",
        selection=dg.AssetSelection.assets(project.key(LABEL_EXPORT)),
        description="Export the latest approved label set (COCO / Label Studio JSON, or CSV), "
        "with its blocking check.",
    )
    return dg.Definitions(
        assets=[build_image_release_asset(project)],
        asset_checks=[approved_label_set_check(project, project.key(LABEL_EXPORT))],
        jobs=[release, decision_job(project), trace_job(project)],
    )


__all__ = ["LABEL_SET", "build_governance_definitions", "build_image_governance_definitions"]
