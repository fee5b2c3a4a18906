"""Per-project jobs: label a batch (partitioned), publish project-wide tables, import reviews."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from assets.common import ProjectAssets
from assets.label_sets import LABEL_SET
from labelgate.project import BATCH_TABLES, PUBLISH_TABLES, REVIEWED_LABELS

# What ``dg.define_asset_job`` returns; Dagster does not export the class itself.
AssetJob = Any


@dataclass(frozen=True)
class ProjectJobs:
    label_batch: AssetJob
    publish: AssetJob
    import_reviews: AssetJob

    def all(self) -> list[AssetJob]:
        return [self.label_batch, self.publish, self.import_reviews]


def build_jobs(project: ProjectAssets, also_label: Sequence[str] = ()) -> ProjectJobs:
    """label_batch (partitioned; plus the ``also_label`` tables the model loop adds, e.g.
    churn_report), publish and import_reviews, the same for every modality."""
    selection = project.selection

    return ProjectJobs(
        label_batch=dg.define_asset_job(
            f"{project.name}__label_batch",
            selection=selection(*BATCH_TABLES, *also_label),
            description="Ingest one source batch and auto-label it.",
        ),
        publish=dg.define_asset_job(
            f"{project.name}__publish",
            selection=selection(*PUBLISH_TABLES, LABEL_SET),
            description="Gate the auto-labels into accepted_labels, refresh the review queue and "
            "snapshot a new label-set version when the accepted labels changed.",
        ),
        import_reviews=dg.define_asset_job(
            f"{project.name}__import_reviews",
            selection=selection(REVIEWED_LABELS),
            description="Import review files (config: files) into reviewed_labels.",
        ),
    )
