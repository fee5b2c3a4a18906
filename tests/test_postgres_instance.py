"""A project run whose Dagster instance storage is the local PostgreSQL (dagster-postgres)."""

import shutil
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from labelgate.project import ACCEPTED_LABELS, ProjectData
from labelgate.spec import ProjectSpec
from labelgate_cli.runner import run_project
from resources.encoder import TextEncoderResource
from tests.conftest import REPO

pytestmark = pytest.mark.postgres


def test_run_records_runs_and_materializations_in_postgres(
    project: ProjectSpec,
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    hashing_encoder: TextEncoderResource,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_URL", postgres_url)

    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        summary = run_project(project, instance=instance, encoder=hashing_encoder)
        assert summary.batches == ["batch_001.csv", "batch_002.parquet"]
        runs = instance.get_runs()
        assert {r.run_id for r in runs} == set(summary.run_ids)
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        accepted_key = dg.AssetKey([project.name, ACCEPTED_LABELS])
        event = instance.get_latest_materialization_event(accepted_key)
        assert event is not None and event.run_id == summary.run_ids[-1]
        partitions = instance.get_dynamic_partitions(f"{project.name}__batches")
        assert sorted(partitions) == ["batch_001.csv", "batch_002.parquet"]

    assert ProjectData(project).tables.exists(ACCEPTED_LABELS)
    with psycopg2.connect(postgres_url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM runs")
        assert cursor.fetchone()[0] == len(summary.run_ids)
        cursor.execute(
            "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
        )
        assert cursor.fetchone()[0] >= 7  # 2 batches x 3 assets, the queue, the accepted labels
