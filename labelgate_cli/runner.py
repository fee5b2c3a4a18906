"""Materialize a project's asset graph in-process against the configured Dagster instance."""

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from labelgate.errors import LabelgateError
from labelgate.images.project import source_batch_keys
from labelgate.images.spec import is_image_modality
from labelgate.project import REVIEWED_LABELS, ProjectData
from labelgate.run_plan import plan_run
from labelgate.spec import ProjectSpec
from labelgate_cli.celery_runner import execute_batches_on_celery, execute_on_celery
from labelgate_cli.orphans import fail_orphaned_runs, run_tags
from pipelines.definitions import build_definitions
from pipelines.execution import ExecutionSettings
from resources.encoder import TextEncoderResource

# Dagster's console log is quiet: a failed step's error reaches the user once, as the
# command's own one-line error; its traceback stays in the instance's run log (UI).
LOG_LEVEL = os.environ.get("LABELGATE_LOG_LEVEL", "CRITICAL")


class RunFailed(LabelgateError):
    """A Dagster run failed; the message carries the step's own error."""


@dataclass
class RunSummary:
    batches: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # unchanged since their last run
    run_ids: list[str] = field(default_factory=list)


def _execute(
    defs: dg.Definitions, job_name: str, instance: dg.DagsterInstance, **kwargs: object
) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def(job_name)
    run_config = dict(kwargs.pop("run_config", None) or {})  # type: ignore[call-overload]
    run_config.setdefault("loggers", {"console": {"config": {"log_level": LOG_LEVEL}}})
    try:
        result = job.execute_in_process(
            instance=instance, run_config=run_config, tags=run_tags(), **kwargs
        )
    except dg.DagsterExecutionStepExecutionError as exc:
        user = exc.user_exception
        if isinstance(user, LabelgateError):
            raise user from None
        raise RunFailed(
            f"{job_name} failed: {type(user).__name__}: {user} (the traceback is in the "
            "Dagster run log: make ui)"
        ) from exc
    if not result.success:
        raise RunFailed(f"{job_name} failed (run {result.run_id}); see the Dagster UI")
    return result


def _run_job(
    spec: ProjectSpec,
    encoder: TextEncoderResource,
    job_name: str,
    instance: dg.DagsterInstance,
    run_config: dict[str, object] | None = None,
) -> str:
    """One run on the configured executor (``LABELGATE_EXECUTOR``); returns its run id."""
    if ExecutionSettings.from_env().celery:
        config = {
            "loggers": {"console": {"config": {"log_level": LOG_LEVEL}}},
            **(run_config or {}),
        }
        return execute_on_celery(spec, job_name, instance, encoder, run_config=config)
    defs = project_definitions(spec, encoder)
    return _execute(defs, job_name, instance, run_config=run_config).run_id


def project_definitions(spec: ProjectSpec, encoder: TextEncoderResource) -> dg.Definitions:
    return build_definitions([spec], encoder=encoder)


def run_project(
    spec: ProjectSpec,
    *,
    instance: dg.DagsterInstance,
    encoder: TextEncoderResource,
    on_batch: Callable[[str], None] | None = None,
    force: bool = False,
) -> RunSummary:
    """Label every source batch (adding new partitions), then gate and refresh the queue.

    Text projects skip batches whose inputs and outputs are unchanged since their last
    successful run, and the publish step when nothing changed (``labelgate.run_plan``);
    ``force`` labels everything again.
    """
    fail_orphaned_runs(instance)  # runs a killed process left STARTED
    batches = source_batch_keys(spec)
    partitions_name = f"{spec.name}__batches"
    known = set(instance.get_dynamic_partitions(partitions_name))
    new_keys = [key for key in batches if key not in known]
    if new_keys:
        instance.add_dynamic_partitions(partitions_name, new_keys)
    summary = RunSummary()
    if batches and not ProjectData(spec).tables.exists(REVIEWED_LABELS):
        summary.run_ids.append(import_reviews(spec, [], instance=instance, encoder=encoder))
    plan = (
        None
        if is_image_modality(spec.modality)
        else plan_run(spec, encoder=f"{encoder.kind}:{encoder.model_path or ''}", force=force)
    )
    stale = batches if plan is None else plan.stale
    summary.skipped = [key for key in batches if key not in stale]

    def done(key: str) -> None:
        if plan is not None:
            plan.record_batch(key)
        if on_batch:
            on_batch(key)

    for key in summary.skipped:
        if on_batch:
            on_batch(key)
    settings = ExecutionSettings.from_env()
    if settings.celery and stale:
        log = {"loggers": {"console": {"config": {"log_level": LOG_LEVEL}}}}
        job = f"{spec.name}__label_batch"
        run_ids = execute_batches_on_celery(
            spec, job, stale, instance, encoder, settings, log, done
        )
        summary.batches.extend(stale)
        summary.run_ids.extend(run_ids)
    elif stale:
        defs = project_definitions(spec, encoder)
        for key in stale:
            result = _execute(defs, f"{spec.name}__label_batch", instance, partition_key=key)
            summary.batches.append(key)
            summary.run_ids.append(result.run_id)
            done(key)
    if batches and (plan is None or plan.publish):
        summary.run_ids.append(_run_job(spec, encoder, f"{spec.name}__publish", instance))
        if plan is not None:
            plan.record_publish()
    return summary


def publish(
    spec: ProjectSpec, *, instance: dg.DagsterInstance, encoder: TextEncoderResource
) -> str:
    """Gate again and refresh the review queue, without re-labeling any batch."""
    return _run_job(spec, encoder, f"{spec.name}__publish", instance)


def import_reviews(
    spec: ProjectSpec,
    files: list[str],
    *,
    instance: dg.DagsterInstance,
    encoder: TextEncoderResource,
    reviewer: str | None = None,
) -> str:
    """Import review files through the ``reviewed_labels`` asset, so the UI records it;
    ``reviewer`` names who made YOLO-txt / COCO labels."""
    config: dict[str, object] = {"files": files}
    if reviewer is not None:
        config["reviewer"] = reviewer
    run_config = {"ops": {f"{spec.name}__{REVIEWED_LABELS}": {"config": config}}}
    return _run_job(spec, encoder, f"{spec.name}__import_reviews", instance, run_config)
