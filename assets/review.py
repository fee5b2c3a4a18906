"""review_queue (what a human must see) and reviewed_labels (what humans decided)."""

import dagster as dg
import pandas as pd
from pydantic import Field

from assets.common import AUTO_LABELS_NO_PROBS, ProjectAssets, class_distribution
from assets.governance import (
    gate_queue_text,
    governance_metadata,
    import_review_files_atomically,
    record_review_decisions,
)
from labelgate.models.active import prioritize_queue
from labelgate.project import AUTO_LABELS, RAW_ITEMS, REVIEW_QUEUE, REVIEWED_LABELS
from labelgate.review import (
    select_review_queue,
    with_source_ids,
    write_label_studio_tasks,
    write_queue_csv,
)
from labelgate.review.budget import queue_sizes


class ImportReviewsConfig(dg.Config):
    """Review files (CSV item_id,label,reviewer or a Label Studio JSON export) to import."""

    files: list[str] = Field(default_factory=list)
    # Who made YOLO-txt / COCO labels (those files do not say); resolved like any reviewer.
    reviewer: str | None = None


def build_review_assets(project: ProjectAssets) -> list[dg.AssetsDefinition]:
    spec, data = project.spec, project.data

    @dg.asset(
        name=REVIEW_QUEUE,
        key_prefix=[project.name],
        group_name=project.name,
        io_manager_key=project.io_manager_key,
        ins={
            "auto_labels": dg.AssetIn(key=project.key(AUTO_LABELS), metadata=AUTO_LABELS_NO_PROBS),
            "raw_items": dg.AssetIn(
                key=project.key(RAW_ITEMS), metadata={"columns": ["item_id", "text", "source_id"]}
            ),
            "reviewed_labels": dg.AssetIn(key=project.key(REVIEWED_LABELS)),
        },
        kinds={"pandas", "csv", "json"},
        description="Items a human must see: a stratified uniform random calibration sample "
        "plus the least confident items (smallest margin first). Exported as CSV and Label "
        "Studio tasks with the predictions pre-filled.",
    )
    def review_queue(
        context: dg.AssetExecutionContext,
        auto_labels: pd.DataFrame,
        raw_items: pd.DataFrame,
        reviewed_labels: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        reviewed = set(reviewed_labels["item_id"])
        calibration_reviewed = int((reviewed_labels["purpose"] == "calibration").sum())
        previous = data.queue_purposes()
        queued_calibration = {i for i, p in previous.items() if p == "calibration"} - reviewed
        auto_labels = auto_labels.drop_duplicates("item_id")
        sizes = queue_sizes(spec, auto_labels, reviewed_labels)  # calibration until it can pass
        queue = select_review_queue(
            auto_labels,
            raw_items[["item_id", "text"]].drop_duplicates("item_id"),
            already_reviewed=reviewed,
            already_queued_calibration=queued_calibration,
            calibration_size=sizes.calibration_size,
            calibration_reviewed=calibration_reviewed,
            uncertain_size=sizes.uncertain_size,
            seed=spec.review.seed,
        )
        queue = prioritize_queue(  # champion doubt first; re-checks of human labels
            queue,
            data=data,
            auto_labels=auto_labels,
            texts=raw_items[["item_id", "text"]],
            reviewed=reviewed_labels,
            uncertain_size=sizes.uncertain_size,
        )
        outgoing, redactions = gate_queue_text(project, queue)  # PII gate: text leaves here
        outgoing = with_source_ids(outgoing, raw_items)  # the user's own ids travel along
        csv_path = write_queue_csv(outgoing, data.queue_dir / "review_queue.csv")
        versions = auto_labels["labeler_versions"].iloc[0] if len(auto_labels) else "{}"
        tasks_path, config_path = write_label_studio_tasks(
            outgoing,
            data.queue_dir / "label_studio_tasks.json",
            spec.class_names,
            model_version=versions,
        )
        counts = queue["purpose"].value_counts().to_dict()
        return dg.Output(
            queue,
            metadata={
                **governance_metadata(spec),
                "pii_redactions": dg.MetadataValue.json(redactions.as_dict()),
                "pii_cells_redacted": redactions.texts,
                "dagster/row_count": len(queue),
                "calibration": int(counts.get("calibration", 0)),
                "uncertain": int(counts.get("uncertain", 0)),
                "already_reviewed": len(reviewed),
                "csv": dg.MetadataValue.path(str(csv_path)),
                "label_studio_tasks": dg.MetadataValue.path(str(tasks_path)),
                "label_studio_config": dg.MetadataValue.path(str(config_path)),
            },
        )

    @dg.asset(
        name=REVIEWED_LABELS,
        key_prefix=[project.name],
        group_name=project.name,
        io_manager_key=project.io_manager_key,
        deps=[project.key(RAW_ITEMS)],
        kinds={"pandas", "parquet"},
        description="Human decisions imported from review files (whole file or nothing), "
        "latest decision per item. Reviewers answer the review_queue outside Dagster; their "
        "files come in through this asset's config, the CLI or the review inbox sensor.",
    )
    def reviewed_labels(
        context: dg.AssetExecutionContext, config: ImportReviewsConfig
    ) -> dg.Output[pd.DataFrame]:
        imported = []  # all files with their ledger rows, or none
        results = import_review_files_atomically(context, project, config.files)
        for file, result in zip(config.files, results, strict=True):
            context.log.info(f"imported {result.rows} reviews from {file}")
            imported.append({"file": file, "rows": result.rows, "changed": result.changed_labels})
        recorded = record_review_decisions(context, project)  # ledger: review_decision rows
        reviewed = data.reviewed()
        return dg.Output(
            reviewed,
            metadata={
                **governance_metadata(spec),
                "ledger_rows_appended": recorded,
                "dagster/row_count": len(reviewed),
                "imported_files": dg.MetadataValue.json(imported),
                "reviewers": dg.MetadataValue.json(sorted(set(reviewed["reviewer"]))),
                "purposes": dg.MetadataValue.json(reviewed["purpose"].value_counts().to_dict()),
                "class_distribution": class_distribution(reviewed["label"]),
            },
        )

    return [review_queue, reviewed_labels]
