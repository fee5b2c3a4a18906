"""Safe automation: a source sensor's first tick leaves batches that were already labeled
alone (only files changed since are run), and the jobs use no deprecated Dagster API."""

import os
import time
import warnings

import dagster as dg

from labelgate.spec import ProjectSpec
from labelgate_cli.runner import run_project
from pipelines.definitions import build_definitions
from resources.encoder import TextEncoderResource

ENCODER = TextEncoderResource(kind="hashing")


def test_first_tick_does_not_rerun_materialized_batches(
    project: ProjectSpec, instance: dg.DagsterInstance
) -> None:
    run_project(project, instance=instance, encoder=ENCODER)
    defs = build_definitions([project], encoder=ENCODER)
    source = defs.resolve_sensor_def(f"{project.name}__source_sensor")

    first = source(dg.build_sensor_context(instance=instance))
    assert first.run_requests == [] and first.dynamic_partitions_requests == []
    assert first.cursor  # the files are remembered: a later change is noticed

    changed = project.source.path / "batch_001.csv"
    later = time.time() + 5
    changed.write_text(changed.read_text(encoding="utf-8") + "m9,I moved house last week\n")
    os.utime(changed, (later, later))
    second = source(dg.build_sensor_context(instance=instance, cursor=first.cursor))
    assert [r.partition_key for r in second.run_requests] == ["batch_001.csv"]

    # Without a cursor (a sensor turned on for the first time) a file changed after its
    # batch was labeled is run again; the unchanged one is not.
    fresh = source(dg.build_sensor_context(instance=instance))
    assert [r.partition_key for r in fresh.run_requests] == ["batch_001.csv"]


def test_jobs_use_no_deprecated_api(project: ProjectSpec) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        defs = build_definitions([project], encoder=ENCODER)
        for job in defs.resolve_all_job_defs():
            job.partitions_def  # noqa: B018 - resolving the job is what warned
    deprecated = [str(w.message) for w in caught if "deprecat" in str(w.message).lower()]
    assert deprecated == []
    label_batch = defs.resolve_job_def(f"{project.name}__label_batch")
    assert label_batch.partitions_def is not None  # inferred from the assets
