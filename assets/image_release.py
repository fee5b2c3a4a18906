"""label_export for image projects: the release of the latest approved label set."""

from pathlib import Path
from typing import Literal

import dagster as dg

from assets.common import ProjectAssets
from assets.label_sets import LABEL_EXPORT, LABEL_SET
from labelgate.governance.metadata import (
    LABEL_SET_VERSION_KEY,
    LEDGER_HEAD_KEY,
    governance_metadata,
)
from labelgate.images.release import release_image_label_set


class ImageReleaseConfig(dg.Config):
    """COCO or Label Studio JSON (box sets), CSV (class labels); the folder defaults to
    ``{project_dir}/exports``."""

    format: Literal["coco", "labelstudio", "csv"] = "coco"
    out_dir: str | None = None


def build_image_release_asset(project: ProjectAssets) -> dg.AssetsDefinition:
    spec = project.spec

    @dg.asset(
        name=LABEL_EXPORT,
        key_prefix=[project.name],
        group_name=project.name,
        deps=[project.key(LABEL_SET)],
        kinds={"json", "csv"},
        description="Release: the latest approved label set (COCO / Label Studio JSON for "
        "boxes, CSV for class labels). Blocking check: the set is approved and intact.",
    )
    def label_export(
        context: dg.AssetExecutionContext, config: ImageReleaseConfig
    ) -> dg.MaterializeResult:
        result = release_image_label_set(
            spec,
            fmt=config.format,
            out_dir=None if config.out_dir is None else Path(config.out_dir),
            run_id=context.run_id,
        )
        assert result.label_set is not None
        return dg.MaterializeResult(
            metadata={
                LEDGER_HEAD_KEY: governance_metadata(spec)[LEDGER_HEAD_KEY],
                LABEL_SET_VERSION_KEY: result.label_set.version,
                "dagster/row_count": result.rows,
                "path": dg.MetadataValue.path(str(result.path)),
                "format": config.format,
            }
        )

    return label_export
