"""review_queue (what a human must see) and reviewed_labels (what humans decided).

How the queue is chosen, which files reviewers get and which answers come back (CSV, Label
Studio JSON, YOLO-txt, COCO) is the modality's (``labelgate.modalities``)."""

import dagster as dg
import pandas as pd
from pydantic import Field

from assets.common import ProjectAssets, class_distribution, metadata
from assets.governance import governance_metadata
from labelgate.project import AUTO_LABELS, RAW_ITEMS, REVIEW_QUEUE, REVIEWED_LABELS
from labelgate.review.budget import queue_sizes


class ImportReviewsConfig(dg.Config):
    """Review files (CSV item_id,label,reviewer or a Label Studio JSON export) to import."""

    files: list[str] = Field(default_factory=list)
    # Who made YOLO-txt / COCO labels (those files do not say); resolved like any reviewer.
    reviewer: str | None = None


def build_review_queue(project: ProjectAssets) -> dg.AssetsDefinition:
    spec, modality = project.spec, project.modality

    @dg.asset(
        **project.asset_args(REVIEW_QUEUE),
        ins={
            "auto_labels": project.asset_in(AUTO_LABELS),
            "raw_items": project.asset_in(RAW_ITEMS),
            "reviewed_labels": dg.AssetIn(key=project.key(REVIEWED_LABELS)),
        },
        kinds={"pandas", "csv", "json"},
        description=project.describe(
            REVIEW_QUEUE,
            "Items a human must see: a stratified uniform random calibration sample plus the "
            "least confident items (smallest margin first). Exported as CSV and Label Studio "
            "tasks with the predictions pre-filled.",
        ),
    )
    def review_queue(
        context: dg.AssetExecutionContext,
        auto_labels: pd.DataFrame,
        raw_items: pd.DataFrame,
        reviewed_labels: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        auto_labels = auto_labels.drop_duplicates("item_id")
        sizes = queue_sizes(spec, auto_labels, reviewed_labels)  # calibration until it can pass
        queue = modality.review_queue(auto_labels, raw_items, reviewed_labels, sizes)
        exported = modality.export_queue(queue, auto_labels, raw_items)
        counts = queue["purpose"].value_counts().to_dict()
        return dg.Output(
            exported.stored,
            metadata={
                **governance_metadata(spec),
                "dagster/row_count": len(queue),
                "calibration": int(counts.get("calibration", 0)),
                "uncertain": int(counts.get("uncertain", 0)),
                "already_reviewed": int(reviewed_labels["item_id"].nunique()),
                **metadata(exported.report),
            },
        )

    return review_queue


def build_reviewed_labels(project: ProjectAssets) -> dg.AssetsDefinition:
    spec, modality = project.spec, project.modality

    @dg.asset(
        **project.asset_args(REVIEWED_LABELS),
        deps=[project.key(RAW_ITEMS)],
        kinds={"pandas", "parquet"},
        description=project.describe(
            REVIEWED_LABELS,
            "Human decisions imported from review files (whole file or nothing), latest "
            "decision per item. Reviewers answer the review_queue outside Dagster; their "
            "files come in through this asset's config, the CLI or the review inbox sensor.",
        ),
    )
    def reviewed_labels(
        context: dg.AssetExecutionContext, config: ImportReviewsConfig
    ) -> dg.Output[pd.DataFrame]:
        done = modality.import_reviews(
            config.files, reviewer=config.reviewer, run_id=context.run_id
        )
        for entry in done.imported:
            context.log.info(f"imported {entry['rows']} reviews from {entry['file']}")
        reviewed = project.data.reviewed()
        return dg.Output(
            reviewed,
            metadata={
                **governance_metadata(spec),
                **metadata(done.report),
                "dagster/row_count": len(reviewed),
                "imported_files": dg.MetadataValue.json(done.imported),
                "reviewers": dg.MetadataValue.json(sorted(set(reviewed["reviewer"]))),
                "purposes": dg.MetadataValue.json(reviewed["purpose"].value_counts().to_dict()),
                "class_distribution": class_distribution(modality.label_counts(reviewed)),
            },
        )

    return reviewed_labels


def build_review_assets(project: ProjectAssets) -> list[dg.AssetsDefinition]:
    return [build_review_queue(project), build_reviewed_labels(project)]
