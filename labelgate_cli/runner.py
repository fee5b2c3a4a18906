"""Materialize a project's asset graph in-process against the configured Dagster instance."""

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from labelgate.errors import LabelgateError
from labelgate.images.project import source_batch_keys
from labelgate.project import REVIEWED_LABELS, ProjectData
from labelgate.spec import ProjectSpec
from pipelines.definitions import build_definitions
from resources.encoder import TextEncoderResource

LOG_LEVEL = os.environ.get("LABELGATE_LOG_LEVEL", "WARNING")


class RunFailed(LabelgateError):
    """A Dagster run failed; the message carries the step's own error."""


@dataclass
class RunSummary:
    batches: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)


def _execute(
    defs: dg.Definitions, job_name: str, instance: dg.DagsterInstance, **kwargs: object
) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def(job_name)
    run_config = dict(kwargs.pop("run_config", None) or {})  # type: ignore[call-overload]
    run_config.setdefault("loggers", {"console": {"config": {"log_level": LOG_LEVEL}}})
    try:
        result = job.execute_in_process(instance=instance, run_config=run_config, **kwargs)
    except dg.DagsterExecutionStepExecutionError as exc:
        user = exc.user_exception
        if isinstance(user, LabelgateError):
            raise user from None
        raise RunFailed(f"{job_name} failed: {user}") from exc
    if not result.success:
        raise RunFailed(f"{job_name} failed (run {result.run_id}); see the Dagster UI")
    return result


def project_definitions(spec: ProjectSpec, encoder: TextEncoderResource) -> dg.Definitions:
    return build_definitions([spec], encoder=encoder)


def run_project(
    spec: ProjectSpec,
    *,
    instance: dg.DagsterInstance,
    encoder: TextEncoderResource,
    on_batch: Callable[[str], None] | None = None,
) -> RunSummary:
    """Label every source batch (adding new partitions), then gate and refresh the queue."""
    defs = project_definitions(spec, encoder)
    batches = source_batch_keys(spec)
    partitions_name = f"{spec.name}__batches"
    known = set(instance.get_dynamic_partitions(partitions_name))
    new_keys = [key for key in batches if key not in known]
    if new_keys:
        instance.add_dynamic_partitions(partitions_name, new_keys)
    summary = RunSummary()
    if batches and not ProjectData(spec).tables.exists(REVIEWED_LABELS):
        summary.run_ids.append(import_reviews(spec, [], instance=instance, encoder=encoder))
    for key in batches:
        result = _execute(defs, f"{spec.name}__label_batch", instance, partition_key=key)
        summary.batches.append(key)
        summary.run_ids.append(result.run_id)
        if on_batch:
            on_batch(key)
    if batches:
        summary.run_ids.append(_execute(defs, f"{spec.name}__publish", instance).run_id)
    return summary


def publish(
    spec: ProjectSpec, *, instance: dg.DagsterInstance, encoder: TextEncoderResource
) -> str:
    """Gate again and refresh the review queue, without re-labeling any batch."""
    defs = project_definitions(spec, encoder)
    return _execute(defs, f"{spec.name}__publish", instance).run_id


def import_reviews(
    spec: ProjectSpec,
    files: list[str],
    *,
    instance: dg.DagsterInstance,
    encoder: TextEncoderResource,
    reviewer: str | None = None,
) -> str:
    """Import review files through the ``reviewed_labels`` asset, so the UI records it;
    ``reviewer`` names who made YOLO / COCO answers (those files do not say)."""
    defs = project_definitions(spec, encoder)
    config: dict[str, object] = {"files": files}
    if reviewer is not None:
        config["reviewer"] = reviewer
    run_config = {"ops": {f"{spec.name}__{REVIEWED_LABELS}": {"config": config}}}
    return _execute(defs, f"{spec.name}__import_reviews", instance, run_config=run_config).run_id
