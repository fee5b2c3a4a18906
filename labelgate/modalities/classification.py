"""Image classification: YOLO classifiers give class probabilities per image, so labels,
gate, reviews and label sets work as for text; items, queue tasks and releases are images."""

from collections.abc import Sequence
from typing import Literal

import pandas as pd

from labelgate.governance.snapshot import snapshot_accepted
from labelgate.images.exchange import (
    classification_config,
    classification_tasks,
    write_label_studio,
)
from labelgate.images.labelers import YoloClassifier
from labelgate.images.spec import YoloClsLabelerSpec
from labelgate.label_sets import PublishResult
from labelgate.modalities.base import (
    Acceptance,
    LabelingInputs,
    QueueExport,
    Report,
    ReviewImport,
)
from labelgate.modalities.class_labels import (
    ClassLabeling,
    accept_classes,
    class_auto_report,
    consolidate_classes,
)
from labelgate.modalities.images import ImageModality
from labelgate.modalities.text import import_class_reviews
from labelgate.review import write_queue_csv
from labelgate.storage import write_text_atomic

TASKS_FILE = "label_studio_tasks.json"


class ImageClassificationModality(ImageModality):
    name = "image_classification"
    label_kind: Literal["class", "boxes"] = "class"
    release_formats: tuple[str, ...] = ("csv", "coco", "labelstudio")

    def classifiers(self) -> list[YoloClassifier]:
        names = self.spec.class_names
        specs = [s for s in self.spec.labelers if isinstance(s, YoloClsLabelerSpec)]
        return [YoloClassifier(s, names) for s in specs]

    def labeling(self, inputs: LabelingInputs) -> ClassLabeling:
        return ClassLabeling(
            self.classifiers(),
            self.spec.class_names,
            rate_key="images_per_second",
            text_column="path",
        )

    def consolidate(self, candidates: pd.DataFrame, batch: str) -> pd.DataFrame:
        soft = {labeler.name: True for labeler in self.spec.labelers}
        return consolidate_classes(self.spec, candidates, batch, soft)

    def auto_report(self, auto: pd.DataFrame, candidates: pd.DataFrame) -> Report:
        return {**class_auto_report(auto, candidates), "samples": self.samples(auto)}

    def export_queue(
        self, queue: pd.DataFrame, auto_labels: pd.DataFrame, raw_items: pd.DataFrame
    ) -> QueueExport:
        folder = self.data.queue_dir
        csv_path = write_queue_csv(queue, folder / "review_queue.csv")
        versions = auto_labels["labeler_versions"].iloc[0] if len(auto_labels) else "{}"
        tasks = classification_tasks(queue, model_version=versions)
        tasks_path, config_path = write_label_studio(
            tasks, folder / TASKS_FILE, self.spec.class_names
        )
        write_text_atomic(config_path, classification_config(self.spec.class_names))
        report: Report = {
            "label_studio_tasks": tasks_path,
            "label_studio_config": config_path,
            "csv": csv_path,
        }
        return QueueExport(stored=queue.drop(columns=["boxes"], errors="ignore"), report=report)

    def import_reviews(
        self, files: Sequence[str], *, reviewer: str | None, run_id: str
    ) -> ReviewImport:
        """Class labels as for text: all files with their ledger rows, or none."""
        imported = import_class_reviews(self.spec, self.data, files, run_id=run_id)
        return ReviewImport([*self.import_gold(), *imported])

    def label_counts(self, labels: pd.DataFrame) -> pd.Series:
        return labels["label"]

    def accept(self, auto_labels: pd.DataFrame, reviewed: pd.DataFrame, run_id: str) -> Acceptance:
        return accept_classes(self.spec, auto_labels, reviewed, run_id)

    def snapshot(
        self,
        accepted: pd.DataFrame,
        auto_labels: pd.DataFrame,
        reviewed: pd.DataFrame,
        *,
        run_id: str,
        quality_checks: dict[str, str],
    ) -> PublishResult | None:
        return snapshot_accepted(
            self.spec, accepted, auto_labels, reviewed, run_id=run_id, quality_checks=quality_checks
        )
