"""A re-run with nothing changed labels no batch and publishes nothing; any change to what a
batch depends on (its source file, the reviews, the project file, its tables) labels it again."""

import os
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from labelgate.project import AUTO_LABELS, ProjectData
from labelgate.run_plan import encoder_id, plan_run, up_to_date
from labelgate.spec import ProjectSpec, load_project
from labelgate_cli.app import app
from labelgate_cli.runner import import_reviews, run_project
from resources.encoder import TextEncoderResource

HASHING = encoder_id("hashing")


def _runs(instance: dg.DagsterInstance) -> int:
    return len(instance.get_runs())


def test_unchanged_batches_are_skipped_and_changes_relabel(
    project: ProjectSpec, instance: dg.DagsterInstance, hashing_encoder: TextEncoderResource
) -> None:
    first = run_project(project, instance=instance, encoder=hashing_encoder)
    assert first.batches == ["batch_001.csv", "batch_002.parquet"] and first.skipped == []
    assert up_to_date(project, encoder=HASHING)
    runs = _runs(instance)

    again = run_project(project, instance=instance, encoder=hashing_encoder)
    assert again.batches == [] and again.skipped == first.batches
    assert _runs(instance) == runs  # no label_batch run, no publish run

    # A changed source file: only its batch labels again, then the project publishes.
    source = project.source.path / "batch_002.parquet"
    frame = pd.read_parquet(source)
    frame.iloc[:-1].to_parquet(source, index=False)
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 10**9))
    changed = run_project(project, instance=instance, encoder=hashing_encoder)
    assert changed.batches == ["batch_002.parquet"] and changed.skipped == ["batch_001.csv"]
    assert _runs(instance) == runs + 2

    # A table rewritten behind the run's back (a re-label, a repair) is not trusted.
    tables = ProjectData(project).tables
    tables.write(AUTO_LABELS, tables.read(AUTO_LABELS, "batch_001.csv"), "batch_001.csv")
    assert plan_run(project, encoder=HASHING).stale == ["batch_001.csv"]

    # --force labels everything.
    forced = run_project(project, instance=instance, encoder=hashing_encoder, force=True)
    assert forced.batches == first.batches


def test_reviews_the_project_file_and_the_encoder_relabel_every_batch(
    project: ProjectSpec,
    instance: dg.DagsterInstance,
    hashing_encoder: TextEncoderResource,
    tmp_path: Path,
) -> None:
    run_project(project, instance=instance, encoder=hashing_encoder)
    assert plan_run(project, encoder=HASHING).stale == []
    assert plan_run(project, encoder=encoder_id("minilm")).stale == [
        "batch_001.csv",
        "batch_002.parquet",
    ]

    assert project.spec_path is not None
    data = yaml.safe_load(project.spec_path.read_text(encoding="utf-8"))
    data["gate"]["target_accuracy"] = 0.9
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert len(plan_run(load_project(edited), encoder=HASHING).stale) == 2

    queue = pd.read_csv(ProjectData(project).queue_dir / "review_queue.csv")
    answers = tmp_path / "answers.csv"
    queue.head(5).assign(label=queue["predicted_label"], reviewer="alice")[
        ["item_id", "label", "reviewer"]
    ].to_csv(answers, index=False)
    import_reviews(project, [str(answers)], instance=instance, encoder=hashing_encoder)
    plan = plan_run(project, encoder=HASHING)
    assert plan.stale == ["batch_001.csv", "batch_002.parquet"] and plan.publish


def test_cli_rerun_with_nothing_changed_does_no_work(
    project: ProjectSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    assert project.spec_path is not None
    command = ["run", str(project.spec_path), "--encoder", "hashing"]
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    assert "nothing to do" in result.output
    result = runner.invoke(app, [*command, "--force"])
    assert result.exit_code == 0 and "nothing to do" not in result.output


def test_a_source_rewritten_with_the_same_size_and_mtime_labels_again(
    project: ProjectSpec, instance: dg.DagsterInstance, hashing_encoder: TextEncoderResource
) -> None:
    """Size and modification time are not identity: a copy tool that keeps mtimes (rsync -t,
    cp -p) can put other rows of the same length in place; the plan must see new content."""
    run_project(project, instance=instance, encoder=hashing_encoder)
    source = project.source.path / "batch_001.csv"
    before = source.stat()
    text = source.read_text(encoding="utf-8")
    swapped = text.replace("a", "e", 1)
    assert swapped != text and len(swapped.encode()) == len(text.encode())
    source.write_text(swapped, encoding="utf-8")
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert source.stat().st_size == before.st_size
    assert plan_run(project, encoder=HASHING).stale == ["batch_001.csv"]


def test_a_renamed_or_duplicated_source_file_is_a_new_batch(
    project: ProjectSpec, instance: dg.DagsterInstance, hashing_encoder: TextEncoderResource
) -> None:
    run_project(project, instance=instance, encoder=hashing_encoder)
    folder = project.source.path
    (folder / "batch_003.csv").write_bytes((folder / "batch_001.csv").read_bytes())
    (folder / "batch_001.csv").rename(folder / "batch_000.csv")
    plan = plan_run(project, encoder=HASHING)
    assert plan.stale == ["batch_000.csv", "batch_003.csv"] and plan.publish
