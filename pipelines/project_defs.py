"""One labeling project → its Definitions (assets, checks, jobs, sensors, IO manager).

The same factories serve every modality (``labelgate.modalities``): the modality decides
what each stage does, never which stages exist."""

import dagster as dg

from assets.accept import build_accept_asset
from assets.common import ProjectAssets
from assets.ingest import build_raw_items
from assets.labels import build_label_assets
from assets.review import build_review_assets
from labelgate.spec import ProjectSpec
from pipelines.governance import build_governance_definitions
from pipelines.jobs import ProjectJobs, build_jobs
from pipelines.model_loop import build_model_loop, label_batch_extras
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


def build_stage_definitions(project: ProjectAssets, jobs: ProjectJobs) -> dg.Definitions:
    """The labeling stages with their checks, jobs, sensors and IO manager."""
    return dg.Definitions(
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


def build_project_definitions(
    spec: ProjectSpec, project: ProjectAssets | None = None
) -> dg.Definitions:
    """``project`` overrides the spec's modality (tests use a fake one)."""
    project = project or ProjectAssets(spec)
    jobs = build_jobs(project, also_label=label_batch_extras(project))
    return dg.Definitions.merge(
        build_stage_definitions(project, jobs),
        build_model_loop(project, jobs),
        build_governance_definitions(project),
    )
