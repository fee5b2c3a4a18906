"""One labeling project → its Definitions (assets, checks, jobs, sensors, IO manager)."""

import dagster as dg

from assets.accept import build_accept_asset
from assets.common import ProjectAssets
from assets.ingest import build_raw_items
from assets.labels import build_label_assets
from assets.review import build_review_assets
from labelgate.images.spec import is_image_modality
from labelgate.spec import ProjectSpec
from pipelines.governance import build_governance_definitions
from pipelines.image_defs import build_image_project_definitions
from pipelines.jobs import build_jobs
from pipelines.model_defs import build_model_definitions
from pipelines.sensors import (
    build_follow_up_sensor,
    build_review_inbox_sensor,
    build_source_sensor,
)
from quality.checks import build_quality_checks
from resources.io_manager import TableIOManager


def project_assets(project: ProjectAssets) -> list[dg.AssetsDefinition]:
    return [
        build_raw_items(project),
        *build_label_assets(project),
        *build_review_assets(project),
        build_accept_asset(project),
    ]


def build_project_definitions(spec: ProjectSpec) -> dg.Definitions:
    if is_image_modality(spec.modality):
        return build_image_project_definitions(spec)
    project = ProjectAssets(spec)
    jobs = build_jobs(project)
    defs = dg.Definitions(
        assets=project_assets(project),
        asset_checks=build_quality_checks(project),
        jobs=jobs.all(),
        sensors=[
            build_source_sensor(project, jobs),
            build_review_inbox_sensor(project, jobs),
            build_follow_up_sensor(project, jobs),
        ],
        resources={project.io_manager_key: TableIOManager(root=str(project.data.tables.root))},
    )
    return dg.Definitions.merge(
        defs, build_model_definitions(project, jobs), build_governance_definitions(project)
    )
