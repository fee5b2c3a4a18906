"""GX suites and the asset checks that run them, on fake upstream assets in a temp folder."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from assets.common import ProjectAssets
from labelgate.project import ACCEPTED_LABELS, AUTO_LABELS, RAW_ITEMS, REVIEWED_LABELS
from labelgate.spec import parse_project
from quality.checks import GX_SUITE_CHECK, build_quality_checks, validate_table
from resources.io_manager import TableIOManager
from tests.projects import project_data

CLASSES = ["billing", "fraud"]


@pytest.fixture
def project(tmp_path: Path) -> ProjectAssets:
    spec = parse_project(
        project_data(
            name="qa",
            modality="text",
            classes={
                "billing": "Questions about a bill.",
                "fraud": "Transactions the customer did not make.",
            },
            labelers=[{"type": "rules", "rules": {"fraud": ["stolen"]}}],
        ),
        base_dir=tmp_path,
        origin=tmp_path / "p.yaml",
    )
    return ProjectAssets(spec)


@pytest.fixture
def instance(project: ProjectAssets) -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(project.partitions.name or "", ["b1", "b2"])
        yield instance


def auto_labels_frame(batch: str, n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": [f"{batch}-{i:04d}" for i in range(n)],
            "batch": batch,
            "label": [CLASSES[i % 2] for i in range(n)],
            "confidence": [0.6 + 0.1 * (i % 4) for i in range(n)],
            "margin": 0.3,
            "entropy": 0.5,
            "probs": [[0.7, 0.3]] * n,
            "agreeing_sources": "rules",
            "labeler_versions": '{"rules": "1"}',
        }
    )


def accepted_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ["a", "b", "c"],
            "label": ["billing", "fraud", "fraud"],
            "source": ["auto", "human", "human"],
            "confidence": [0.97, 1.0, 1.0],
            "labeler_versions": "{}",
            "reviewer": [None, "ana", "ben"],
            "run_id": "r1",
        }
    )


def fake_table(project: ProjectAssets, table: str, frames: dict[str, pd.DataFrame]) -> Any:
    """An upstream stand-in: writes ``frames[partition]`` (``frames[""]`` if unpartitioned)."""
    partitioned = table in (RAW_ITEMS, AUTO_LABELS)

    @dg.asset(
        key=project.key(table),
        partitions_def=project.partitions if partitioned else None,
        io_manager_key=project.io_manager_key,
    )
    def fake(context: dg.AssetExecutionContext) -> pd.DataFrame:
        return frames[context.partition_key if partitioned else ""]

    return fake


def downstream_of_auto_labels(project: ProjectAssets) -> dg.AssetsDefinition:
    @dg.asset(
        key=project.key("label_report"),
        partitions_def=project.partitions,
        io_manager_key=project.io_manager_key,
        ins={"auto_labels": dg.AssetIn(key=project.key(AUTO_LABELS))},
    )
    def label_report(auto_labels: pd.DataFrame) -> pd.DataFrame:
        return auto_labels["label"].value_counts().rename_axis("label").reset_index()

    return label_report


def check_for(project: ProjectAssets, table: str) -> dg.AssetChecksDefinition:
    key = dg.AssetCheckKey(project.key(table), GX_SUITE_CHECK)
    (check,) = [c for c in build_quality_checks(project) if key in c.check_keys]
    return check


def run(
    project: ProjectAssets,
    instance: dg.DagsterInstance,
    tmp_path: Path,
    defs: list[Any],
    partition: str | None = None,
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        defs,
        partition_key=partition,
        instance=instance,
        resources={project.io_manager_key: TableIOManager(root=str(tmp_path / "tables"))},
        raise_on_error=False,
    )


def evaluation(result: dg.ExecuteInProcessResult, project: ProjectAssets, table: str) -> Any:
    (found,) = [
        e
        for e in result.get_asset_check_evaluations()
        if e.asset_key == project.key(table) and e.check_name == GX_SUITE_CHECK
    ]
    return found


def failed_expectations(evaluation: Any) -> list[dict[str, Any]]:
    return evaluation.metadata["failed_expectations"].value


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {event.asset_key.path[-1] for event in result.get_asset_materialization_events()}


def test_checks_cover_every_table_and_block_on_the_gates(project: ProjectAssets) -> None:
    specs = {
        spec.asset_key.path[-1]: spec
        for check in build_quality_checks(project)
        for spec in check.check_specs
    }
    assert set(specs) == {RAW_ITEMS, AUTO_LABELS, REVIEWED_LABELS, ACCEPTED_LABELS}
    assert {name for name, spec in specs.items() if spec.blocking} == {
        AUTO_LABELS,
        ACCEPTED_LABELS,
    }
    assert specs[AUTO_LABELS].partitions_def == project.partitions
    assert specs[ACCEPTED_LABELS].partitions_def is None


def test_good_auto_labels_partition_passes(
    project: ProjectAssets, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    frames = {"b1": auto_labels_frame("b1")}
    defs = [fake_table(project, AUTO_LABELS, frames), check_for(project, AUTO_LABELS)]
    result = run(project, instance, tmp_path, defs, partition="b1")
    assert result.success
    found = evaluation(result, project, AUTO_LABELS)
    assert found.passed
    assert found.partition == "b1"
    assert found.metadata["failed"].value == 0
    assert found.metadata["rows"].value == 4


def with_bad_label(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[1, "label"] = "weather"
    return frame


def with_overconfidence(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[2, "confidence"] = 1.3
    return frame


def with_duplicate_id(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[3, "item_id"] = frame.loc[0, "item_id"]
    return frame


@pytest.mark.parametrize(
    ("corrupt", "expectation", "column", "value"),
    [
        (with_bad_label, "expect_column_values_to_be_in_set", "label", "weather"),
        (with_overconfidence, "expect_column_values_to_be_between", "confidence", 1.3),
        (with_duplicate_id, "expect_column_values_to_be_unique", "item_id", "b2-0000"),
    ],
)
def test_bad_auto_labels_partition_fails_and_names_the_problem(
    project: ProjectAssets,
    instance: dg.DagsterInstance,
    tmp_path: Path,
    corrupt: Any,
    expectation: str,
    column: str,
    value: object,
) -> None:
    frames = {"b1": auto_labels_frame("b1"), "b2": corrupt(auto_labels_frame("b2"))}
    defs = [fake_table(project, AUTO_LABELS, frames), check_for(project, AUTO_LABELS)]
    assert run(project, instance, tmp_path, defs, partition="b1").success

    result = run(project, instance, tmp_path, defs, partition="b2")
    found = evaluation(result, project, AUTO_LABELS)
    assert not found.passed
    assert found.partition == "b2"
    assert found.severity == dg.AssetCheckSeverity.ERROR
    (failure,) = failed_expectations(found)
    assert (failure["expectation"], failure["column"]) == (expectation, column)
    assert value in [v["value"] for v in failure["unexpected_values"]]
    assert expectation in found.description


def test_check_reads_only_the_partition_of_its_run(
    project: ProjectAssets, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    frames = {"b1": with_bad_label(auto_labels_frame("b1")), "b2": auto_labels_frame("b2", n=6)}
    defs = [fake_table(project, AUTO_LABELS, frames), check_for(project, AUTO_LABELS)]
    assert not run(project, instance, tmp_path, defs, partition="b1").success

    found = evaluation(run(project, instance, tmp_path, defs, partition="b2"), project, AUTO_LABELS)
    assert found.passed
    assert found.metadata["rows"].value == 6
    assert found.metadata["partitions"].value == ["b2"]


def test_failing_blocking_check_stops_downstream_in_the_same_run(
    project: ProjectAssets, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    frames = {"b1": auto_labels_frame("b1"), "b2": with_overconfidence(auto_labels_frame("b2"))}
    defs = [
        fake_table(project, AUTO_LABELS, frames),
        check_for(project, AUTO_LABELS),
        downstream_of_auto_labels(project),
    ]
    good = run(project, instance, tmp_path, defs, partition="b1")
    assert materialized(good) == {AUTO_LABELS, "label_report"}

    bad = run(project, instance, tmp_path, defs, partition="b2")
    assert not bad.success
    assert materialized(bad) == {AUTO_LABELS}
    assert not evaluation(bad, project, AUTO_LABELS).passed


def test_accepted_labels_pass_when_every_human_label_has_a_reviewer(
    project: ProjectAssets, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    defs = [
        fake_table(project, ACCEPTED_LABELS, {"": accepted_frame()}),
        check_for(project, ACCEPTED_LABELS),
    ]
    found = evaluation(run(project, instance, tmp_path, defs), project, ACCEPTED_LABELS)
    assert found.passed
    assert found.partition is None


def test_human_accepted_label_without_reviewer_fails(
    project: ProjectAssets, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    frame = accepted_frame()
    frame.loc[2, "reviewer"] = None
    defs = [
        fake_table(project, ACCEPTED_LABELS, {"": frame}),
        check_for(project, ACCEPTED_LABELS),
    ]
    result = run(project, instance, tmp_path, defs)
    assert not result.success
    (failure,) = failed_expectations(evaluation(result, project, ACCEPTED_LABELS))
    assert failure["expectation"] == "expect_column_values_to_not_be_null"
    assert failure["column"] == "reviewer"
    assert failure["unexpected_count"] == 1
    assert failure["row_condition"] == "source == 'human'"


def test_raw_items_suite_flags_missing_text_and_columns() -> None:
    items = pd.DataFrame(
        {
            "item_id": ["a", "b"],
            "text": ["hello", None],
            "batch": "b1",
            "source_file": "f.csv",
            "source_row": pd.array([1, 2], dtype="int64"),
        }
    )
    outcome = validate_table(RAW_ITEMS, items, CLASSES)
    assert not outcome.success
    assert {(f["expectation"], f["column"]) for f in outcome.failed} == {
        ("expect_column_values_to_not_be_null", "text"),
        ("expect_column_to_exist", "source_id"),
    }


def test_reviewed_labels_suite_checks_purpose_and_reviewer() -> None:
    reviewed = pd.DataFrame(
        {
            "item_id": ["a", "b"],
            "label": ["billing", "fraud"],
            "reviewer": ["ana", None],
            "purpose": ["calibration", "curiosity"],
            "reviewed_at": "2024-05-01T00:00:00+00:00",
            "review_file": "r.csv",
            "review_file_sha256": "0" * 64,
        }
    )
    outcome = validate_table(REVIEWED_LABELS, reviewed, CLASSES)
    assert {(f["expectation"], f["column"]) for f in outcome.failed} == {
        ("expect_column_values_to_not_be_null", "reviewer"),
        ("expect_column_values_to_be_in_set", "purpose"),
    }
    assert outcome.evaluated > len(outcome.failed)


def test_pandas_string_dtype_is_validated() -> None:
    frame = auto_labels_frame("b1").astype({"item_id": "str", "label": "string"})
    frame.loc[0, "label"] = "weather"
    outcome = validate_table(AUTO_LABELS, frame, CLASSES)
    (failure,) = outcome.failed
    assert failure["unexpected_values"] == [{"value": "weather", "count": 1}]


def test_missing_column_is_a_failure_with_the_reason() -> None:
    frame = auto_labels_frame("b1").drop(columns=["margin"])
    outcome = validate_table(AUTO_LABELS, frame, CLASSES)
    by_type = {f["expectation"]: f for f in outcome.failed}
    assert set(by_type) == {"expect_column_to_exist", "expect_column_values_to_be_between"}
    assert "does not exist" in by_type["expect_column_values_to_be_between"]["error"]
