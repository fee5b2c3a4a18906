"""The workspace loads, every project's graph resolves, and the sensors react to files."""

import os
import time
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from labelgate.spec import ProjectSpec
from pipelines.definitions import build_definitions, project_files
from resources.encoder import TextEncoderResource
from tests.conftest import ProjectFactory


def project_sensor(project: ProjectSpec, kind: str) -> Any:
    """The project's ``{name}__{kind}`` sensor, from its definitions (hashing encoder)."""
    defs = build_definitions([project], encoder=TextEncoderResource(kind="hashing"))
    return defs.resolve_sensor_def(f"{project.name}__{kind}")


def test_workspace_definitions_load_with_the_demo_project() -> None:
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {
        "complaints/raw_items",
        "complaints/candidate_labels",
        "complaints/auto_labels",
        "complaints/review_queue",
        "complaints/reviewed_labels",
        "complaints/accepted_labels",
    } <= keys
    for job in ("complaints__label_batch", "complaints__publish", "complaints__import_reviews"):
        assert defs.resolve_job_def(job) is not None


def test_lineage_runs_from_raw_items_to_accepted_labels(project: ProjectSpec) -> None:
    defs = build_definitions([project], encoder=TextEncoderResource(kind="hashing"))
    graph = defs.resolve_asset_graph()

    def key(name: str) -> dg.AssetKey:
        return dg.AssetKey([project.name, name])

    assert graph.get(key("candidate_labels")).parent_keys == {
        key("raw_items"),
        key("reviewed_labels"),
    }
    assert graph.get(key("accepted_labels")).parent_keys == {
        key("auto_labels"),
        key("reviewed_labels"),
    }
    blocking = {
        spec.asset_key.path[-1]
        for checks in defs.asset_checks or []
        for spec in checks.check_specs
        if spec.blocking
    }
    release = {"label_export"} | ({"trained_model"} if project.training else set())
    assert blocking == {"auto_labels", "accepted_labels"} | release  # + governance gates


def test_several_projects_live_in_one_workspace(make_project: ProjectFactory) -> None:
    first = make_project()
    second = make_project(name="complaints_fr")
    defs = build_definitions([first, second], encoder=TextEncoderResource(kind="hashing"))
    groups = {key.path[0] for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert groups == {"complaints", "complaints_fr"}
    with pytest.raises(ValueError, match="same project name"):
        build_definitions([first, first])


def test_project_files_reads_the_environment(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("x: 1")
    (tmp_path / "b.yaml").write_text("x: 1")
    assert project_files(f"{tmp_path}{os.pathsep}{tmp_path / 'a.yaml'}") == [
        tmp_path / "a.yaml",
        tmp_path / "b.yaml",
        tmp_path / "a.yaml",
    ]


def test_source_sensor_adds_a_partition_per_new_or_changed_file(
    project: ProjectSpec, instance: dg.DagsterInstance
) -> None:
    source = project_sensor(project, "source_sensor")

    first = source(dg.build_sensor_context(instance=instance))
    assert sorted(r.partition_key for r in first.run_requests) == [
        "batch_001.csv",
        "batch_002.parquet",
    ]
    (added,) = first.dynamic_partitions_requests
    assert sorted(added.partition_keys) == ["batch_001.csv", "batch_002.parquet"]
    instance.add_dynamic_partitions(added.partitions_def_name, list(added.partition_keys))

    again = source(dg.build_sensor_context(instance=instance, cursor=first.cursor))
    assert again.run_requests == [] and again.dynamic_partitions_requests == []

    new_file = project.source.path / "batch_003.csv"
    new_file.write_text("message_id,text\nm1,My card was stolen yesterday\n", encoding="utf-8")
    changed = project.source.path / "batch_001.csv"
    time.sleep(0.01)
    changed.write_text(changed.read_text(encoding="utf-8") + "m2,I moved house\n")
    third = source(dg.build_sensor_context(instance=instance, cursor=again.cursor))
    assert sorted(r.partition_key for r in third.run_requests) == ["batch_001.csv", "batch_003.csv"]
    (added,) = third.dynamic_partitions_requests
    assert list(added.partition_keys) == ["batch_003.csv"]  # only the new file is new


def test_review_inbox_sensor_requests_one_import_per_file(
    project: ProjectSpec, instance: dg.DagsterInstance
) -> None:
    inbox_sensor = project_sensor(project, "review_inbox_sensor")
    skipped = inbox_sensor(dg.build_sensor_context(instance=instance))
    assert "does not exist yet" in (skipped.skip_reason.skip_message or "")

    inbox = project.review.folder / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "round1.csv").write_text("item_id,label,reviewer\n", encoding="utf-8")
    (inbox / "notes.txt").write_text("not a review file", encoding="utf-8")
    result = inbox_sensor(dg.build_sensor_context(instance=instance))
    (request,) = result.run_requests
    op = f"{project.name}__reviewed_labels"
    assert request.run_config["ops"][op]["config"]["files"] == [str(inbox / "round1.csv")]
    assert request.run_key.startswith("round1.csv:")
