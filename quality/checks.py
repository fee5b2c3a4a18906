"""Great Expectations suites as Dagster asset checks, one per table.

The checks on ``auto_labels`` and ``accepted_labels`` are blocking: when they fail (severity
ERROR) the run fails and downstream assets in the same run do not execute. Checks on the
batch-partitioned tables share the asset's partitions definition, so a run validates exactly
the partition it materialized: the IO manager loads that partition as the check's input.

GX is imported only when a check runs; importing it takes about 2 s, which loading the
definitions (code server, sensors) should not pay.
"""

import time
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import dagster as dg
import pandas as pd

from assets.common import ProjectAssets
from labelgate.project import ACCEPTED_LABELS, AUTO_LABELS, RAW_ITEMS, REVIEWED_LABELS

if TYPE_CHECKING:
    from quality.gx_runner import SuiteOutcome

GX_SUITE_CHECK = "gx_suite"
CHECKED_TABLES = (RAW_ITEMS, AUTO_LABELS, REVIEWED_LABELS, ACCEPTED_LABELS)
BLOCKING_TABLES = frozenset({AUTO_LABELS, ACCEPTED_LABELS})
PARTITIONED_TABLES = frozenset({RAW_ITEMS, AUTO_LABELS})


def validate_table(
    table: str,
    frame: pd.DataFrame,
    class_names: Sequence[str],
    *,
    item_kind: str = "text",
    label_kind: str = "class",
) -> "SuiteOutcome":
    """Run ``table``'s expectation suite (for the modality's items and labels) on ``frame``.
    Box lists are checked by their lengths: GX metrics hash cell values."""
    from quality.gx_runner import run_suite
    from quality.image_suites import suite_for

    if "boxes" in frame.columns:
        frame = frame.assign(boxes=frame["boxes"].map(len))
    suite = suite_for(table, class_names, item_kind=item_kind, label_kind=label_kind)
    return run_suite(frame, suite)


def build_quality_checks(project: ProjectAssets) -> list[dg.AssetChecksDefinition]:
    """One ``gx_suite`` check per checked table of ``project``."""
    return [gx_suite_check(project, table) for table in CHECKED_TABLES]


def gx_suite_check(project: ProjectAssets, table: str) -> dg.AssetChecksDefinition:
    """The ``gx_suite`` check on ``table``: blocking and partitioned as the table requires."""
    class_names = tuple(project.spec.class_names)
    kinds = {"item_kind": project.modality.item_kind, "label_kind": project.modality.label_kind}
    partitions_def = project.partitions if table in PARTITIONED_TABLES else None

    # Partitioned asset checks are a preview feature of Dagster 1.13; the warning is expected.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)

        @dg.asset_check(
            asset=project.key(table),
            name=GX_SUITE_CHECK,
            blocking=table in BLOCKING_TABLES,
            partitions_def=partitions_def,
            description=f"Great Expectations suite {table!r}: schema, keys and value ranges.",
        )
        def gx_suite(
            context: dg.AssetCheckExecutionContext, frame: pd.DataFrame
        ) -> dg.AssetCheckResult:
            started = time.perf_counter()
            outcome = validate_table(table, frame, class_names, **kinds)
            metadata: dict[str, Any] = {
                "suite": outcome.suite,
                "rows": len(frame),
                "evaluated": outcome.evaluated,
                "failed": len(outcome.failed),
                "failed_expectations": dg.MetadataValue.json(outcome.failed),
                "gx_seconds": round(time.perf_counter() - started, 3),
            }
            if partitions_def is not None:
                metadata["partitions"] = dg.MetadataValue.json(list(context.partition_keys))
            return dg.AssetCheckResult(
                passed=outcome.success,
                severity=dg.AssetCheckSeverity.ERROR,
                description=outcome.summary(),
                metadata=metadata,
            )

    return gx_suite
