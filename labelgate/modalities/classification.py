"""Image classification: YOLO classifiers give class probabilities per image, so labels,
gate, reviews and label sets work as for text; items, queue tasks and releases are images."""

from collections.abc import Sequence
from typing import Literal

import pandas as pd

from labelgate.images.exchange import (
    classification_config,
    classification_tasks,
)
from labelgate.images.labelers import YoloClassifier
from labelgate.images.spec import YoloClsLabelerSpec
from labelgate.modalities.base import (
    LabelingInputs,
    QueueExport,
    Report,
    ReviewImport,
)
from labelgate.modalities.class_labels import (
    ClassLabeling,
    ClassLabelSteps,
    class_auto_report,
    consolidate_classes,
)
from labelgate.modalities.images import ImageModality
from labelgate.modalities.text import import_class_reviews
from labelgate.storage import write_text_atomic


class ImageClassificationModality(ClassLabelSteps, ImageModality):
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
        tasks = classification_tasks(queue, model_version=self.model_version(auto_labels))
        exported = self.write_queue_files(queue, queue, tasks)
        config = exported.report["label_studio_config"]
        write_text_atomic(config, classification_config(self.spec.class_names))
        return exported

    def import_reviews(
        self, files: Sequence[str], *, reviewer: str | None, run_id: str
    ) -> ReviewImport:
        """Class labels as for text: all files with their ledger rows, or none."""
        imported = import_class_reviews(self.spec, self.data, files, run_id=run_id)
        return ReviewImport([*self.import_gold(), *imported])
