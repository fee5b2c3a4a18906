"""The ``labelgate`` command line end to end, against a real (temporary) Dagster instance."""

import json
import re
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from typer.testing import CliRunner

from labelgate.synth import CorpusFiles, simulate_reviews
from labelgate_cli.app import app
from tests.conftest import write_project

HASHING = ["--encoder", "hashing"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def cli(home: Path) -> Iterator[CliRunner]:
    yield CliRunner()


@pytest.fixture
def project_file(tmp_path: Path, corpus: CorpusFiles) -> Path:
    return write_project(tmp_path, corpus.inbox)


def invoke(cli: CliRunner, *args: str, ok: bool = True) -> str:
    result = cli.invoke(app, [str(a) for a in args])
    output = result.output  # stdout and stderr
    if ok:
        assert result.exit_code == 0, output
    else:
        assert result.exit_code == 2, output
    # Rich draws tables and wraps long lines: compare on text with box lines and runs of
    # whitespace reduced to single spaces.
    return " ".join(re.sub("[\u2500-\u257f]", " ", output).split())


def test_run_review_and_export_end_to_end(
    cli: CliRunner,
    project_file: Path,
    home: Path,
    tmp_path: Path,
    truth: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LABELGATE_PROJECTS", str(project_file))  # resolves project names
    out = invoke(cli, "run", project_file, *HASHING)
    assert "labelgate · complaints" in out
    assert "reviews still needed" in out

    status = invoke(cli, "status", project_file)
    assert "items" in status and "automation rate 0.0%" in status

    queue_dir = tmp_path / "to_review"
    invoke(cli, "review", "export", project_file, "--out", queue_dir)
    invoke(cli, "review", "export", project_file, "--out", queue_dir, "--format", "labelstudio")
    tasks = json.loads((queue_dir / "label_studio_tasks.json").read_text(encoding="utf-8"))
    queue = pd.read_csv(queue_dir / "review_queue.csv", dtype=str, keep_default_na=False)
    assert len(tasks) == len(queue) == 150
    assert '<Choice value="card_fraud"/>' in (
        queue_dir / "label_studio_tasks.label_config.xml"
    ).read_text(encoding="utf-8")

    answers = tmp_path / "answers.csv"
    simulate_reviews(queue_dir / "review_queue.csv", truth, answers, error_rate=0.0)
    imported = invoke(cli, "review", "import", project_file, answers, *HASHING)
    assert "150 items now have a human decision" in imported
    again = invoke(cli, "review", "import", project_file, answers, *HASHING, ok=False)
    assert "already imported" in again

    invoke(cli, "run", project_file, *HASHING)
    assert "150 (120 calibration)" in invoke(cli, "status", "complaints")

    for fmt, name in [
        ("csv", "complaints_accepted_labels.csv"),
        ("parquet", "complaints_accepted_labels.parquet"),
        ("labelstudio", "complaints_accepted_labels.json"),
    ]:
        invoke(cli, "export", project_file, "--format", fmt, "--out", tmp_path / "export")
        assert (tmp_path / "export" / name).is_file()
    exported = pd.read_parquet(tmp_path / "export" / "complaints_accepted_labels.parquet")
    assert (exported["source"] == "human").sum() == 150
    assert exported["text"].notna().all()

    instance = dg.DagsterInstance.get()  # DAGSTER_HOME points at the test's home
    assert Path(instance.root_directory) == home
    jobs = {run.job_name for run in instance.get_runs()}
    assert {"complaints__label_batch", "complaints__publish", "complaints__import_reviews"} <= jobs


def test_bad_review_file_is_refused_with_every_bad_row(
    cli: CliRunner, project_file: Path, tmp_path: Path
) -> None:
    invoke(cli, "run", project_file, *HASHING)
    queue = pd.read_csv(tmp_path / "reviews" / "queue" / "review_queue.csv", dtype=str)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "item_id,label,reviewer\n"
        f"{queue['item_id'][0]},card_fraud,alice\n"
        f"{queue['item_id'][1]},wrong_class,alice\n"
        "ffffffffffffffff,card_fraud,alice\n",
        encoding="utf-8",
    )
    out = invoke(cli, "review", "import", project_file, bad, *HASHING, ok=False)
    assert "refused, nothing was imported; 2 bad row(s)" in out
    assert "row 3: label 'wrong_class' is not one of the classes" in out
    assert "row 4: unknown item id 'ffffffffffffffff'" in out
    assert "0 (0 calibration)" in invoke(cli, "status", project_file)


def test_malformed_project_file_names_the_field(cli: CliRunner, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "name: demo\nmodality: text\nsource: {path: inbox}\n"
        "classes: [{name: a, description: A}, {name: b, description: B}]\n"
        "labelers: [{type: rules, rules: {c: ['x']}}]\n"
        "gate: {target_accuracy: 1.5}\n",
        encoding="utf-8",
    )
    out = invoke(cli, "run", broken, *HASHING, ok=False)
    assert "gate.target_accuracy" in out
    assert "Input should be less than 1" in out


def test_missing_project_and_premature_export_fail_clearly(
    cli: CliRunner, project_file: Path, tmp_path: Path
) -> None:
    out = invoke(cli, "status", tmp_path / "nope.yaml", ok=False)
    assert "does not exist" in out
    out = invoke(cli, "export", project_file, "--format", "csv", "--out", tmp_path, ok=False)
    assert "no accepted labels yet: run it first" in out
    out = invoke(cli, "review", "import", project_file, tmp_path / "missing.csv", ok=False)
    assert "missing.csv does not exist" in out
