"""label_export for image projects: the release of the latest approved label set."""

from pathlib import Path
from typing import Literal

import dagster as dg

from assets.common import ProjectAssets
from assets.label_sets import LABEL_EXPORT, LABEL_SET, release_metadata
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
        return dg.MaterializeResult(metadata=release_metadata(spec, result, config.format))

    return label_export
