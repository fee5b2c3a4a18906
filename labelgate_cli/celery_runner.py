"""Run a project's jobs on Dagster's Celery executor (``LABELGATE_EXECUTOR=celery``).

The process that calls these orchestrates: each run's steps go to the broker and Celery
workers (``make workers``) execute them, writing to the shared tables, the PostgreSQL ledger
and the PostgreSQL Dagster instance. Batch runs are orchestrated several at a time, each in a
process of its own (Dagster's run orchestration is not thread-safe: runs in threads of one
process deadlock on logging locks), so batches label in parallel on all the workers.
"""

import multiprocessing
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, as_completed

import dagster as dg

from assets.common import ENCODER_POOL, ProjectAssets
from labelgate.errors import LabelgateError
from labelgate.project import RAW_ITEMS, ProjectData
from labelgate.run_state import file_stamp
from labelgate.spec import ProjectSpec
from pipelines.execution import ExecutionSettings
from pipelines.reconstruct import reconstructable_project_job
from resources.encoder import TextEncoderResource

INGEST_POLL_SECONDS = 0.5


class CeleryRunFailed(LabelgateError):
    """A run on the Celery executor failed; the message names the failed steps."""


def check_instance(instance: dg.DagsterInstance) -> None:
    if instance.is_ephemeral:
        raise CeleryRunFailed(
            "the Celery executor needs a persistent Dagster instance that every worker reaches: "
            "set DAGSTER_HOME to a folder whose dagster.yaml is deploy/dagster.postgres.yaml"
        )


def set_pool_limits(
    spec: ProjectSpec, instance: dg.DagsterInstance, settings: ExecutionSettings
) -> None:
    """One ingest at a time per project (it de-duplicates against the other batches), and at
    most ``LABELGATE_ENCODER_SLOTS`` encoder steps at once across all workers."""
    storage = instance.event_log_storage
    storage.set_concurrency_slots(ProjectAssets(spec).ingest_pool, 1)
    if settings.encoder_slots is not None:
        storage.set_concurrency_slots(ENCODER_POOL, settings.encoder_slots)


def execute_on_celery(
    spec: ProjectSpec,
    job_name: str,
    instance: dg.DagsterInstance,
    encoder: TextEncoderResource,
    *,
    partition_key: str | None = None,
    run_config: Mapping[str, object] | None = None,
) -> str:
    """Execute one run with its steps on the Celery workers; returns the run id."""
    if spec.spec_path is None:
        raise CeleryRunFailed(
            f"project {spec.name!r} has no project file; Celery workers load the job from it"
        )
    check_instance(instance)
    ExecutionSettings.from_env().declare_step_queue()
    job = reconstructable_project_job(spec.spec_path, job_name, encoder)
    tags = {"dagster/partition": partition_key} if partition_key else None
    with dg.execute_job(job, instance, run_config=dict(run_config or {}), tags=tags) as result:
        if result.success:
            return result.run_id
        failures = [
            f"{event.step_key}: {event.step_failure_data.error.message.strip()}"
            for event in result.get_step_failure_events()
            if event.step_failure_data.error is not None
        ]
        run_errors = [
            event.job_failure_data.error.message.strip()
            for event in result.all_events
            if event.event_type == dg.DagsterEventType.RUN_FAILURE
            and event.job_failure_data.error is not None
        ]
        detail = "; ".join(failures + run_errors) or "see the Dagster UI"
        raise CeleryRunFailed(f"{job_name} failed on Celery (run {result.run_id}): {detail}")


def _orchestrate_batch(
    project_file: str,
    job_name: str,
    key: str,
    encoder_kind: str,
    device: str,
    run_config: Mapping[str, object],
) -> str:
    """One batch run, in an orchestrator process of its own (see the module docstring)."""
    from labelgate.spec import load_project

    encoder = TextEncoderResource(kind=encoder_kind, device=device)  # type: ignore[arg-type]
    with dg.DagsterInstance.get() as instance:
        return execute_on_celery(
            load_project(project_file),
            job_name,
            instance,
            encoder,
            partition_key=key,
            run_config=run_config,
        )


def execute_batches_on_celery(
    spec: ProjectSpec,
    job_name: str,
    keys: list[str],
    instance: dg.DagsterInstance,
    encoder: TextEncoderResource,
    settings: ExecutionSettings,
    run_config: Mapping[str, object],
    on_batch: Callable[[str], None] | None = None,
) -> list[str]:
    """One run per batch, ``settings.parallel_runs`` in flight, ingests in batch order; every
    batch is attempted and the first failure is raised after the others finished (their
    work stays committed)."""
    check_instance(instance)
    if spec.spec_path is None:
        raise CeleryRunFailed(
            f"project {spec.name!r} has no project file; Celery workers load the job from it"
        )
    set_pool_limits(spec, instance, settings)
    settings.declare_step_queue()
    args = (str(spec.spec_path.resolve()), job_name)
    context = multiprocessing.get_context("spawn")
    workers = min(settings.parallel_runs, max(len(keys), 1))
    run_ids: dict[str, str] = {}
    errors: list[BaseException] = []
    tables = ProjectData(spec).tables
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures: dict[Future[str], str] = {}
        for key in keys:
            before = file_stamp(tables.path(RAW_ITEMS, key))
            future = pool.submit(
                _orchestrate_batch, *args, key, encoder.kind, encoder.device, dict(run_config)
            )
            futures[future] = key
            # Ingest drops items already in other batches, so the batch that keeps a repeated
            # item depends on the order of ingests: wait for this one (or its failure) before
            # the next run starts, and every batch keeps what it keeps in-process. Labeling,
            # the expensive part, still overlaps.
            while file_stamp(tables.path(RAW_ITEMS, key)) == before and not future.done():
                time.sleep(INGEST_POLL_SECONDS)
        for future in as_completed(futures):
            error = future.exception()
            if error is not None:
                errors.append(error)
                continue
            run_ids[futures[future]] = future.result()
            if on_batch:
                on_batch(futures[future])
    if errors:
        raise errors[0]
    return [run_ids[key] for key in keys]
