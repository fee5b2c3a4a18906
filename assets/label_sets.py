"""label_set (an audited, versioned snapshot of accepted_labels) and label_export (the
release of the latest approved label set, PII-gated)."""

from pathlib import Path
from typing import Any, Literal

import dagster as dg
import pandas as pd

from assets.common import ProjectAssets, counts_table, metadata
from labelgate.governance.export import ExportResult
from labelgate.governance.metadata import (
    LABEL_SET_VERSION_KEY,
    LEDGER_HEAD_KEY,
    governance_metadata,
)
from labelgate.label_sets import LabelSet, PublishResult
from labelgate.label_sets.content import class_counts, holds_boxes
from labelgate.modalities.base import LabelTables
from labelgate.project import ACCEPTED_LABELS, AUTO_LABELS, REVIEWED_LABELS
from labelgate.spec import ProjectSpec

LABEL_SET = "label_set"
LABEL_EXPORT = "label_export"


class ReleaseConfig(dg.Config):
    """Format of the released file; the folder defaults to ``{project_dir}/exports``."""

    format: Literal["parquet", "csv", "labelstudio"] = "parquet"
    out_dir: str | None = None


def release_config(formats: tuple[str, ...]) -> type[dg.Config]:
    """The release config of a modality: one of its ``formats`` (the first by default)."""
    if formats == ("parquet", "csv", "labelstudio"):
        return ReleaseConfig  # the text release, as it always was

    class ModalityReleaseConfig(dg.Config):
        """Format of the released file; the folder defaults to ``{project_dir}/exports``."""

        format: Literal[formats] = formats[0]  # type: ignore[valid-type]
        out_dir: str | None = None

    return ModalityReleaseConfig


def quality_results(context: dg.AssetExecutionContext, project: ProjectAssets) -> dict[str, str]:
    """The latest result of every check on accepted_labels, as recorded by the instance."""
    results = {}
    for check_name in ("gx_suite",):
        key = dg.AssetCheckKey(project.key(ACCEPTED_LABELS), check_name)
        record = context.instance.get_latest_asset_check_evaluation_record(key)
        if record is not None:
            results[f"{ACCEPTED_LABELS}.{check_name}"] = (
                f"{record.status.value.lower()} (run {record.run_id[:8]})"
            )
    return results


def label_set_metadata(spec: ProjectSpec, result: PublishResult | None) -> dg.MaterializeResult:
    """What a label_set materialization reports, for label and box sets alike."""
    if result is None:
        return dg.MaterializeResult(
            metadata={
                **governance_metadata(spec),
                "dagster/row_count": 0,
                "new_version": False,
                "reason": "nothing accepted yet: no label-set version",
            }
        )
    current = result.label_set
    labels = current.labels()
    return dg.MaterializeResult(
        metadata={
            **governance_metadata(spec),
            LABEL_SET_VERSION_KEY: current.version,
            "dagster/row_count": len(labels),
            "new_version": result.created,
            "status": current.status,
            "content_sha256": current.manifest.get("content_sha256", ""),
            "datasheet": dg.MetadataValue.md(datasheet_markdown(current)),
            "datasheet_path": dg.MetadataValue.path(str(current.datasheet_path)),
            "manifest": dg.MetadataValue.json(current.manifest),
            "class_distribution": counts_table(
                class_counts(labels), "boxes" if holds_boxes(labels) else "items"
            ),
        }
    )


def datasheet_markdown(label_set: LabelSet) -> str:
    """The datasheet's Markdown (ids, counts, evidence and identities; never item text)."""
    path = label_set.datasheet_path
    return path.read_text(encoding="utf-8") if path.is_file() else f"(no datasheet at {path})"


def build_label_set_asset(project: ProjectAssets) -> dg.AssetsDefinition:
    modality = project.modality

    @dg.asset(
        **project.asset_args(LABEL_SET, table=False),
        ins={
            "accepted_labels": dg.AssetIn(key=project.key(ACCEPTED_LABELS)),
            "auto_labels": project.asset_in(AUTO_LABELS),
            "reviewed_labels": dg.AssetIn(key=project.key(REVIEWED_LABELS)),
        },
        kinds={"parquet", "markdown"},
        description="Immutable, versioned snapshot of accepted_labels (box sets for detection) "
        "with a manifest (content hash, project file, labeler versions, gate evidence, "
        "checks, reviewers, counts) and a datasheet. A new version only when the content "
        "changed; drafts until a steward who reviewed none of its labels approves "
        "(labelgate approve).",
    )
    def label_set(
        context: dg.AssetExecutionContext,
        accepted_labels: pd.DataFrame,
        auto_labels: pd.DataFrame,
        reviewed_labels: pd.DataFrame,
    ) -> dg.MaterializeResult:
        result = modality.snapshot(
            LabelTables(accepted_labels, auto_labels, reviewed_labels),
            run_id=context.run_id,
            quality_checks=quality_results(context, project),
        )
        return label_set_metadata(project.spec, result)

    return label_set


def build_release_asset(project: ProjectAssets) -> dg.AssetsDefinition:
    spec, modality = project.spec, project.modality
    config_class = release_config(modality.release_formats)

    @dg.asset(
        **project.asset_args(LABEL_EXPORT, table=False),
        deps=[project.key(LABEL_SET)],
        kinds={"parquet", "csv", "json"},
        description=project.describe(
            LABEL_EXPORT,
            "Release: the latest approved label set with its text, PII redacted (or refused) "
            "per governance.pii. Blocking checks: the set is approved and intact, and the "
            "file holds no PII.",
        ),
    )
    def label_export(
        context: dg.AssetExecutionContext, config: config_class
    ) -> dg.MaterializeResult:  # type: ignore[valid-type]
        fmt, out_dir = config.format, config.out_dir  # type: ignore[attr-defined]
        result, report = modality.release(
            fmt, None if out_dir is None else Path(out_dir), context.run_id
        )
        return dg.MaterializeResult(
            metadata={**release_metadata(spec, result, fmt), **metadata(report)}
        )

    return label_export


def build_label_set_assets(project: ProjectAssets) -> list[dg.AssetsDefinition]:
    return [build_label_set_asset(project), build_release_asset(project)]


def release_metadata(spec: ProjectSpec, result: ExportResult, fmt: str) -> dict[str, Any]:
    """What every release materialization records: the ledger head, the released version,
    rows, the file and its format."""
    assert result.label_set is not None
    return {
        LEDGER_HEAD_KEY: governance_metadata(spec)[LEDGER_HEAD_KEY],
        LABEL_SET_VERSION_KEY: result.label_set.version,
        "dagster/row_count": result.rows,
        "path": dg.MetadataValue.path(str(result.path)),
        "format": fmt,
    }
