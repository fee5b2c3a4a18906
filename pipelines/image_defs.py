"""One image project → its Definitions: the image asset factories on the text spine's jobs,
review sensors and IO manager (``project_defs`` picks this for image modalities)."""

import hashlib
import json

import dagster as dg

from assets.image_accept import build_image_accept_asset
from assets.image_common import ImageProjectAssets
from assets.image_ingest import build_image_raw_items
from assets.image_label_sets import build_image_label_set_asset
from assets.image_labels import build_image_label_assets
from assets.image_review import build_image_review_assets
from assets.label_sets import LABEL_SET
from assets.relabel import churn_tables
from labelgate.images.ingest import ImageBatch, discover_image_batches
from labelgate.project import (
    ACCEPTED_LABELS,
    AUTO_LABELS,
    CANDIDATE_LABELS,
    RAW_ITEMS,
    REVIEW_QUEUE,
    REVIEWED_LABELS,
)
from labelgate.spec import ProjectSpec
from pipelines.governance import build_image_governance_definitions
from pipelines.jobs import ProjectJobs
from pipelines.model_defs import build_model_definitions
from pipelines.sensors import (
    already_materialized,
    build_follow_up_sensor,
    build_review_inbox_sensor,
)
from quality.gate_check import build_gate_check
from quality.image_checks import build_image_quality_checks
from resources.io_manager import TableIOManager


def _fingerprint(batch: ImageBatch) -> str:
    """Changes when an image of the folder is added, removed, replaced or touched."""
    stats = [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in batch.files]
    return hashlib.sha256(json.dumps(stats).encode()).hexdigest()[:16]


def build_image_source_sensor(
    project: ImageProjectAssets, jobs: ProjectJobs
) -> dg.SensorDefinition:
    source = project.spec.source

    @dg.sensor(
        name=f"{project.name}__source_sensor",
        job=jobs.label_batch,
        minimum_interval_seconds=30,
        description=f"Adds a batch partition per new or changed image folder in {source.path}",
    )
    def source_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        if not source.path.is_dir():
            return dg.SensorResult(skip_reason=f"source folder {source.path} does not exist yet")
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        known = set(context.instance.get_dynamic_partitions(project.partitions.name))
        batches = discover_image_batches(source.path, source.formats)
        current = {b.key: _fingerprint(b) for b in batches}
        changed = [k for k, fp in current.items() if seen.get(k) != fp]
        if not context.cursor:  # first tick: leave folders labeled before the sensor ran
            newest = {
                b.key: max((f.stat().st_mtime for f in b.files), default=0.0) for b in batches
            }
            done = already_materialized(context, project, newest)
            changed = [k for k in changed if k not in done]
        new_keys = [k for k in changed if k not in known]
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(partition_key=k, run_key=f"{k}:{current[k]}") for k in changed
            ],
            dynamic_partitions_requests=(
                [project.partitions.build_add_request(new_keys)] if new_keys else []
            ),
            cursor=json.dumps(current, sort_keys=True),
        )

    return source_sensor


def build_image_jobs(project: ImageProjectAssets) -> ProjectJobs:
    """The text spine's three jobs (same names and roles) over the image asset graph; publish
    also snapshots the accepted labels as a label-set version."""

    def selection(*names: str) -> dg.AssetSelection:
        return dg.AssetSelection.assets(*(project.key(n) for n in names))

    return ProjectJobs(
        label_batch=dg.define_asset_job(
            f"{project.name}__label_batch",
            selection=selection(
                RAW_ITEMS, CANDIDATE_LABELS, AUTO_LABELS, *churn_tables(project.spec)
            ),
            description="Ingest one image folder and auto-label it.",
        ),
        publish=dg.define_asset_job(
            f"{project.name}__publish",
            selection=selection(ACCEPTED_LABELS, REVIEW_QUEUE, LABEL_SET),
            description="Gate the auto-labels into accepted_labels, refresh the review queue "
            "and snapshot a label-set version when the accepted labels changed.",
        ),
        import_reviews=dg.define_asset_job(
            f"{project.name}__import_reviews",
            selection=selection(REVIEWED_LABELS),
            description="Import review files (config: files) into reviewed_labels.",
        ),
    )


def build_image_project_definitions(spec: ProjectSpec) -> dg.Definitions:
    project = ImageProjectAssets(spec)
    jobs = build_image_jobs(project)
    defs = dg.Definitions(
        assets=[
            build_image_raw_items(project),
            *build_image_label_assets(project),
            *build_image_review_assets(project),
            build_image_accept_asset(project),
            build_image_label_set_asset(project),
        ],
        asset_checks=[*build_image_quality_checks(project), build_gate_check(project)],
        jobs=jobs.all(),
        sensors=[
            build_image_source_sensor(project, jobs),
            build_review_inbox_sensor(project, jobs),
            build_follow_up_sensor(project, jobs),
        ],
        resources={project.io_manager_key: TableIOManager(root=str(project.data.tables.root))},
    )
    return dg.Definitions.merge(
        defs, build_model_definitions(project, jobs), build_image_governance_definitions(project)
    )
