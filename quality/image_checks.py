"""The ``gx_suite`` asset checks of an image project (same tables, blocking and partitions as
for text; suites from ``quality.image_suites``)."""

import time
import warnings
from typing import Any

import dagster as dg
import pandas as pd

from assets.common import ProjectAssets
from quality.checks import BLOCKING_TABLES, CHECKED_TABLES, GX_SUITE_CHECK, PARTITIONED_TABLES


def build_image_quality_checks(project: ProjectAssets) -> list[dg.AssetChecksDefinition]:
    return [image_suite_check(project, table) for table in CHECKED_TABLES]


def image_suite_check(project: ProjectAssets, table: str) -> dg.AssetChecksDefinition:
    class_names = tuple(project.spec.class_names)
    modality = project.spec.modality
    partitions_def = project.partitions if table in PARTITIONED_TABLES else None

    with warnings.catch_warnings():  # partitioned asset checks are a preview feature
        warnings.simplefilter("ignore", dg.PreviewWarning)

        @dg.asset_check(
            asset=project.key(table),
            name=GX_SUITE_CHECK,
            blocking=table in BLOCKING_TABLES,
            partitions_def=partitions_def,
            description=f"Great Expectations suite {table!r} for {modality}: schema, keys, ranges.",
        )
        def gx_suite(
            context: dg.AssetCheckExecutionContext, frame: pd.DataFrame
        ) -> dg.AssetCheckResult:
            from quality.gx_runner import run_suite
            from quality.image_suites import image_suite

            started = time.perf_counter()
            scalar = frame  # box lists become their lengths: GX metrics hash cell values
            if "boxes" in frame.columns:
                scalar = frame.assign(boxes=frame["boxes"].map(len))
            outcome = run_suite(scalar, image_suite(table, modality, class_names))
            metadata: dict[str, Any] = {
                "suite": outcome.suite,
                "rows": len(frame),
                "evaluated": outcome.evaluated,
                "failed": len(outcome.failed),
                "failed_expectations": dg.MetadataValue.json(outcome.failed),
                "gx_seconds": round(time.perf_counter() - started, 3),
            }
            return dg.AssetCheckResult(
                passed=outcome.success,
                severity=dg.AssetCheckSeverity.ERROR,
                description=outcome.summary(),
                metadata=metadata,
            )

    return gx_suite
