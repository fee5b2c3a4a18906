"""The executor comes from the environment in one place; Celery settings and pools reach the
job definitions the workers rebuild."""

import pytest

from assets.common import ENCODER_POOL, ProjectAssets
from labelgate.project import CANDIDATE_LABELS, RAW_ITEMS
from labelgate.spec import ProjectSpec
from pipelines.definitions import build_definitions
from pipelines.execution import DEFAULT_BROKER, ExecutionSettings
from pipelines.reconstruct import project_job
from resources.encoder import TextEncoderResource


def test_in_process_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LABELGATE_EXECUTOR", "LABELGATE_CELERY_BROKER", "LABELGATE_ENCODER_SLOTS"):
        monkeypatch.delenv(name, raising=False)
    settings = ExecutionSettings.from_env()
    assert not settings.celery and settings.executor_def() is None
    assert settings.broker == DEFAULT_BROKER and settings.encoder_slots is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LABELGATE_EXECUTOR", "dask"),
        ("LABELGATE_ENCODER_SLOTS", "0"),
        ("LABELGATE_PARALLEL_RUNS", "x"),
    ],
)
def test_bad_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        ExecutionSettings.from_env()


def test_celery_settings_reach_the_job(
    project: ProjectSpec, monkeypatch: pytest.MonkeyPatch, hashing_encoder: TextEncoderResource
) -> None:
    monkeypatch.setenv("LABELGATE_EXECUTOR", "celery")
    monkeypatch.setenv("LABELGATE_CELERY_BROKER", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("LABELGATE_CELERY_QUEUE", "gpu-box")
    settings = ExecutionSettings.from_env()
    config = settings.celery_config()
    assert config["broker"] == "redis://127.0.0.1:6379/0"
    assert config["config_source"]["task_default_queue"] == "gpu-box"  # type: ignore[index]
    # dagster-celery sends steps with routing key "{queue}.execute_plan"; the queue binds it.
    queue = settings.step_queue()
    assert queue.name == "gpu-box" and queue.routing_key == "gpu-box.execute_plan"

    assert project.spec_path is not None
    job = project_job(str(project.spec_path), f"{project.name}__label_batch", "hashing", "cpu")
    assert job.executor_def.name == "celery"
    defs = build_definitions([project], encoder=hashing_encoder)
    assets = ProjectAssets(project)
    assert defs.resolve_assets_def(assets.key(RAW_ITEMS)).op.pool == assets.ingest_pool
    assert defs.resolve_assets_def(assets.key(CANDIDATE_LABELS)).op.pool == ENCODER_POOL

    monkeypatch.setenv("LABELGATE_EXECUTOR", "in_process")
    job = build_definitions([project], encoder=hashing_encoder).resolve_job_def(
        f"{project.name}__label_batch"
    )
    assert job.executor_def.name != "celery"
