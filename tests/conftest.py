"""Shared fixtures: a small synthetic corpus, a project file pointing at it, a Dagster instance.

The project is the shipped demo project (``projects/complaints.yaml``) re-pointed at a temp
folder, so tests exercise the real rules and class descriptions. Unit-level tests use the
deterministic hashing encoder; tests marked ``slow`` load the real MiniLM.
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import yaml

from labelgate.spec import ProjectSpec, load_project
from labelgate.synth import CorpusFiles, write_corpus
from resources.encoder import TextEncoderResource

REPO = Path(__file__).resolve().parent.parent
DEMO_PROJECT = REPO / "projects" / "complaints.yaml"
SHARED_DATA = REPO.parent / "shared" / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ProjectFactory = Callable[..., ProjectSpec]


@pytest.fixture(scope="session")
def hashing_encoder() -> TextEncoderResource:
    return TextEncoderResource(kind="hashing")


@pytest.fixture
def corpus(tmp_path: Path) -> CorpusFiles:
    """400 synthetic bank messages in two batches (CSV with bad rows, then Parquet)."""
    return write_corpus(tmp_path / "corpus", n=400, n_batches=2, seed=7)


@pytest.fixture
def truth(corpus: CorpusFiles) -> pd.DataFrame:
    return pd.read_csv(corpus.truth_csv, dtype=str, keep_default_na=False)


def write_project(folder: Path, source: Path, **overrides: Any) -> Path:
    """The demo project re-pointed at ``source``, storage and reviews under ``folder``."""
    data = yaml.safe_load(DEMO_PROJECT.read_text(encoding="utf-8"))
    data["source"]["path"] = str(source)
    data["storage"] = str(folder / "store")
    identities = (data.get("governance") or {}).get("identities")
    if identities:  # the demo's identities file, wherever the project file is written
        data["governance"]["identities"] = str((DEMO_PROJECT.parent / identities).resolve())
    data["review"].update(
        {"folder": str(folder / "reviews"), "calibration_size": 120, "uncertain_size": 30}
    )
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    path = folder / "project.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def review_round(
    spec: ProjectSpec,
    instance: dg.DagsterInstance,
    truth: pd.DataFrame,
    answers: Path,
    *,
    error_rate: float,
) -> None:
    """Label the project, answer its review queue from ``truth`` into ``answers`` (simulated
    reviewers, seed 1), import the answers and label again; hashing encoder."""
    from labelgate.project import ProjectData
    from labelgate.synth import simulate_reviews
    from labelgate_cli.runner import import_reviews, run_project

    encoder = TextEncoderResource(kind="hashing")
    run_project(spec, instance=instance, encoder=encoder)
    queue = ProjectData(spec).queue_dir / "review_queue.csv"
    simulate_reviews(queue, truth, answers, error_rate=error_rate, seed=1)
    import_reviews(spec, [str(answers)], instance=instance, encoder=encoder)
    run_project(spec, instance=instance, encoder=encoder)


@pytest.fixture
def make_project(tmp_path: Path, corpus: CorpusFiles) -> ProjectFactory:
    def make(**overrides: Any) -> ProjectSpec:
        return load_project(write_project(tmp_path, corpus.inbox, **overrides))

    return make


@pytest.fixture
def project(make_project: ProjectFactory) -> ProjectSpec:
    return make_project()


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


def shared_data(name: str) -> Path:
    """A folder of ../shared/data, or a loud skip where it is absent (never in CI)."""
    path = SHARED_DATA / name
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing; CI must provide ../shared/data")
        pytest.skip(f"SKIPPED LOUDLY: real data {path} is not on this machine")
    return path


PG_ADMIN_URL = os.environ.get("LABELGATE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the local server, dropped afterwards.

    Where the server cannot be reached the test fails under CI and is skipped loudly
    elsewhere.
    """
    import uuid

    import psycopg2

    try:
        admin = psycopg2.connect(PG_ADMIN_URL, connect_timeout=3)
    except psycopg2.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is unreachable under CI: {exc}")
        pytest.skip(f"SKIPPED LOUDLY: PostgreSQL at {PG_ADMIN_URL} is unreachable: {exc}")
    admin.autocommit = True
    name = f"labelgate_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
