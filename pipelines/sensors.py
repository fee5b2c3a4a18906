"""Sensors: new source files become batches; dropped review files get imported; finished runs
trigger the next stage (publish after labeling, re-labeling after new reviews)."""

import json
from pathlib import Path

import dagster as dg

from assets.common import ProjectAssets
from labelgate.project import RAW_ITEMS, REVIEWED_LABELS
from pipelines.jobs import ProjectJobs

REVIEW_SUFFIXES = {".csv", ".json"}


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def already_materialized(
    context: dg.SensorEvaluationContext, project: ProjectAssets, changed_at: dict[str, float]
) -> set[str]:
    """Batches whose raw_items partition was materialized after their files last changed
    (``changed_at``: batch -> newest modification time). A sensor's first tick has no cursor
    and would otherwise re-run every batch already labeled."""
    key = project.key(RAW_ITEMS)
    done = context.instance.get_materialized_partitions(key) & set(changed_at)
    skip = set()
    for batch in done:
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[batch]), limit=1
        ).records
        if records and records[0].timestamp >= changed_at[batch]:
            skip.add(batch)
    return skip


def build_source_sensor(project: ProjectAssets, jobs: ProjectJobs) -> dg.SensorDefinition:
    """A batch partition and a label_batch run per new or changed source batch; the
    modality says what a batch is and what changes its fingerprint."""
    modality, source = project.modality, project.spec.source

    @dg.sensor(
        name=f"{project.name}__source_sensor",
        job=jobs.label_batch,
        minimum_interval_seconds=30,
        description=f"Adds a batch partition per new or changed {modality.batch_noun} in "
        f"{source.path}",
    )
    def source_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        if not source.path.is_dir():
            return dg.SensorResult(skip_reason=f"source folder {source.path} does not exist yet")
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        known = set(context.instance.get_dynamic_partitions(project.partitions.name))
        batches = modality.batches()
        current = {b.key: b.fingerprint for b in batches}
        changed = [k for k, fp in current.items() if seen.get(k) != fp]
        if not context.cursor:  # first tick: leave batches labeled before the sensor ran
            done = already_materialized(context, project, {b.key: b.changed_at for b in batches})
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


def build_review_inbox_sensor(project: ProjectAssets, jobs: ProjectJobs) -> dg.SensorDefinition:
    inbox = project.data.inbox_dir

    @dg.sensor(
        name=f"{project.name}__review_inbox_sensor",
        job=jobs.import_reviews,
        minimum_interval_seconds=30,
        description=f"Imports review files dropped into {inbox}.",
    )
    def review_inbox_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        if not inbox.is_dir():
            return dg.SensorResult(skip_reason=f"review inbox {inbox} does not exist yet")
        files = sorted(
            p for p in inbox.iterdir() if p.is_file() and p.suffix.lower() in REVIEW_SUFFIXES
        )
        op_name = f"{project.name}__{REVIEWED_LABELS}"
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"{p.name}:{_fingerprint(p)}",
                    run_config={"ops": {op_name: {"config": {"files": [str(p)]}}}},
                )
                for p in files
            ]
        )

    return review_inbox_sensor


def build_follow_up_sensor(project: ProjectAssets, jobs: ProjectJobs) -> dg.SensorDefinition:
    @dg.run_status_sensor(
        name=f"{project.name}__follow_up_sensor",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[jobs.label_batch, jobs.import_reviews],
        request_jobs=[jobs.publish, jobs.label_batch],
        description="After a batch is labeled: publish. After reviews are imported: re-label "
        "every batch (few-shot heads retrain on the new reviews).",
    )
    def follow_up(context: dg.RunStatusSensorContext) -> list[dg.RunRequest]:
        run = context.dagster_run
        if run.job_name == jobs.label_batch.name:
            return [dg.RunRequest(job_name=jobs.publish.name, run_key=f"publish:{run.run_id}")]
        partitions = context.instance.get_dynamic_partitions(project.partitions.name)
        return [
            dg.RunRequest(
                job_name=jobs.label_batch.name,
                partition_key=key,
                run_key=f"relabel:{run.run_id}:{key}",
            )
            for key in partitions
        ]

    return follow_up
