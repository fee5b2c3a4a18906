"""review_queue and reviewed_labels for images (same roles as for text).

Reviewers get Label Studio tasks with the auto-labels pre-filled (``rectanglelabels`` in
percent coordinates for detection, a choice for classification). Answers come back as a
Label Studio JSON export, a YOLO-txt folder or a COCO JSON file (detection) or as the text
review files (classification); the source's existing labels are imported as reviewer 'gold'.
"""

import dagster as dg
import pandas as pd

from assets.common import class_distribution
from assets.image_common import ImageProjectAssets
from assets.review import ImportReviewsConfig
from labelgate.images.exchange import (
    classification_config,
    classification_tasks,
    label_studio_tasks,
    write_label_studio,
)
from labelgate.images.queue import select_image_queue
from labelgate.project import AUTO_LABELS, RAW_ITEMS, REVIEW_QUEUE, REVIEWED_LABELS
from labelgate.review import write_queue_csv
from labelgate.review.budget import queue_sizes
from labelgate.storage import write_text_atomic

TASKS_FILE = "label_studio_tasks.json"


def build_image_review_assets(project: ImageProjectAssets) -> list[dg.AssetsDefinition]:
    spec, data = project.spec, project.data

    @dg.asset(
        name=REVIEW_QUEUE,
        key_prefix=[project.name],
        group_name=project.name,
        io_manager_key=project.io_manager_key,
        ins={
            "auto_labels": dg.AssetIn(key=project.key(AUTO_LABELS)),
            "raw_items": dg.AssetIn(key=project.key(RAW_ITEMS)),
            "reviewed_labels": dg.AssetIn(key=project.key(REVIEWED_LABELS)),
        },
        kinds={"pandas", "json"},
        description="Images a human must see: a random calibration sample plus the least "
        "confident images, as Label Studio tasks with the auto-labels pre-filled.",
    )
    def review_queue(
        context: dg.AssetExecutionContext,
        auto_labels: pd.DataFrame,
        raw_items: pd.DataFrame,
        reviewed_labels: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        sizes = queue_sizes(spec, auto_labels, reviewed_labels)  # calibration until it can pass
        queue = select_image_queue(
            auto_labels,
            raw_items,
            reviewed_labels,
            data.queue_purposes(),
            detection=project.detection,
            calibration_size=sizes.calibration_size,
            uncertain_size=sizes.uncertain_size,
            seed=spec.review.seed,
        )
        versions = auto_labels["labeler_versions"].iloc[0] if len(auto_labels) else "{}"
        tasks_path = data.queue_dir / TASKS_FILE
        files = {}
        if project.detection:
            tasks = label_studio_tasks(queue, key="predictions", model_version=versions)
            tasks_path, config_path = write_label_studio(tasks, tasks_path, spec.class_names)
        else:
            files["csv"] = dg.MetadataValue.path(
                str(write_queue_csv(queue, data.queue_dir / "review_queue.csv"))
            )
            tasks = classification_tasks(queue, model_version=versions)
            tasks_path, config_path = write_label_studio(tasks, tasks_path, spec.class_names)
            write_text_atomic(config_path, classification_config(spec.class_names))
        counts = queue["purpose"].value_counts().to_dict()
        stored = queue.drop(columns=["boxes"], errors="ignore")
        return dg.Output(
            stored,
            metadata={
                "dagster/row_count": len(queue),
                "calibration": int(counts.get("calibration", 0)),
                "uncertain": int(counts.get("uncertain", 0)),
                "already_reviewed": int(reviewed_labels["item_id"].nunique()),
                "label_studio_tasks": dg.MetadataValue.path(str(tasks_path)),
                "label_studio_config": dg.MetadataValue.path(str(config_path)),
                **files,
            },
        )

    @dg.asset(
        name=REVIEWED_LABELS,
        key_prefix=[project.name],
        group_name=project.name,
        io_manager_key=project.io_manager_key,
        deps=[project.key(RAW_ITEMS)],
        kinds={"pandas", "parquet"},
        description="Human decisions (box sets or class labels) imported from review files, "
        "whole file or nothing, latest decision per item; plus the source's gold labels.",
    )
    def reviewed_labels(
        context: dg.AssetExecutionContext, config: ImportReviewsConfig
    ) -> dg.Output[pd.DataFrame]:
        gold = data.import_gold()
        imported = [{"file": "gold", "rows": gold.rows}] if gold else []
        for file in config.files:
            result = data.import_review_file(file)
            context.log.info(f"imported {result.rows} reviews from {file}")
            imported.append({"file": file, "rows": result.rows})
        reviewed = data.reviewed()
        if project.detection:
            labels = pd.Series([b["label"] for bs in reviewed["boxes"] for b in bs], dtype=str)
        else:
            labels = reviewed["label"]
        return dg.Output(
            reviewed,
            metadata={
                "dagster/row_count": len(reviewed),
                "imported_files": dg.MetadataValue.json(imported),
                "reviewers": dg.MetadataValue.json(sorted(set(reviewed["reviewer"]))),
                "purposes": dg.MetadataValue.json(reviewed["purpose"].value_counts().to_dict()),
                "class_distribution": class_distribution(labels),
            },
        )

    return [review_queue, reviewed_labels]
