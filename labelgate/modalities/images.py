"""What image modalities share: folders of images as batches, image items, Label Studio
tasks, gold labels from the source, sample plots, releases as COCO / Label Studio / CSV."""

import hashlib
import json
from functools import cached_property
from pathlib import Path
from typing import ClassVar, Literal

import pandas as pd

from labelgate.governance.export import ExportResult
from labelgate.images.exchange import write_label_studio
from labelgate.images.ingest import (
    ImageBatch,
    ImageLimits,
    discover_image_batches,
    ingest_image_batch,
)
from labelgate.images.plots import sample_boxes_png
from labelgate.images.project import ImageProjectData
from labelgate.images.queue import select_image_queue, with_image_rechecks
from labelgate.images.release import release_image_label_set
from labelgate.images.spec import ImageSourceSpec
from labelgate.ingest import IngestResult
from labelgate.modalities.base import Markdown, ModalityBase, QueueExport, Report, SourceBatch
from labelgate.models.active import pending_rechecks
from labelgate.plots import png_markdown
from labelgate.project import ACCEPTED_LABELS, RAW_ITEMS, REVIEW_QUEUE, REVIEWED_LABELS
from labelgate.review import write_queue_csv
from labelgate.review.budget import QueueSizes
from labelgate.spec import ProjectSpec

SAMPLE_IMAGES = 6
TASKS_FILE = "label_studio_tasks.json"
IMAGE_DESCRIPTIONS = {
    RAW_ITEMS: "Images of one source folder of {name}: id = content hash, width and height; "
    "unreadable, truncated, empty, non-image and oversized files quarantined.",
    REVIEW_QUEUE: "Images a human must see: a random calibration sample plus the least "
    "confident images, as Label Studio tasks with the auto-labels pre-filled.",
    REVIEWED_LABELS: "Human decisions (box sets or class labels) imported from review files, "
    "whole file or nothing, latest decision per item; plus the source's gold labels.",
    ACCEPTED_LABELS: "Reviewed labels plus the auto-labels the gate proves on the random "
    "calibration images (detection: box precision and recall bounds by default).",
    "label_export": "Release: the latest approved label set (COCO / Label Studio JSON for "
    "boxes, CSV for class labels). Blocking check: the set is approved and intact.",
}


def folder_fingerprint(batch: ImageBatch) -> str:
    """Changes when an image of the folder is added, removed, replaced or touched."""
    stats = [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in batch.files]
    return hashlib.sha256(json.dumps(stats).encode()).hexdigest()[:16]


class ImageModality(ModalityBase):
    """The steps both image modalities take the same way; subclasses add the labels."""

    name: str
    item_kind: Literal["text", "image"] = "image"
    batch_noun = "image folder"
    uses_text_encoder = False
    label_columns = ("item_id", "path")
    chunk_size = 256
    descriptions: ClassVar[dict[str, str]] = IMAGE_DESCRIPTIONS

    def __init__(self, spec: ProjectSpec) -> None:
        assert isinstance(spec.source, ImageSourceSpec), "an image project has an image source"
        super().__init__(spec)
        self.source: ImageSourceSpec = spec.source

    @cached_property
    def data(self) -> ImageProjectData:
        return ImageProjectData(self.spec)

    @property
    def detection(self) -> bool:
        return self.spec.modality == "image_detection"

    def batches(self) -> list[SourceBatch]:
        return [
            SourceBatch(
                b.key,
                b.folder,
                folder_fingerprint(b),
                max((f.stat().st_mtime for f in b.files), default=0.0),
                b,
            )
            for b in discover_image_batches(self.source.path, self.source.formats)
        ]

    def ingest(self, batch: SourceBatch) -> IngestResult:
        return ingest_image_batch(batch.native, ImageLimits.of(self.source))

    def ingest_report(self, result: IngestResult, batch: SourceBatch) -> Report:
        quarantine = result.quarantine
        reasons = quarantine["reason"].map(lambda r: r.split(":")[0]).value_counts()
        preview = result.items[["item_id", "source_id", "width", "height", "format"]].head(5)
        return {
            "quarantine_reasons": reasons.to_dict(),
            "quarantine": Markdown(
                quarantine[["excerpt", "reason"]].head(10).to_markdown(index=False)
            ),
            "source_folder": batch.location,
            "preview": Markdown(preview.to_markdown(index=False)),
        }

    def review_queue(
        self, auto: pd.DataFrame, items: pd.DataFrame, reviewed: pd.DataFrame, sizes: QueueSizes
    ) -> pd.DataFrame:
        """Calibration sample and least confident images; then, with a ``training:``
        section, human labels the new labels contradict and suspected label errors."""
        queue = select_image_queue(
            auto,
            items,
            reviewed,
            self.data.queue_purposes(),
            detection=self.detection,
            calibration_size=sizes.calibration_size,
            uncertain_size=sizes.uncertain_size,
            seed=self.spec.review.seed,
        )
        if self.spec.training is None:  # as for text: re-checks come from the model loop
            return queue
        return with_image_rechecks(
            queue,
            pending_rechecks(self.data, reviewed),
            reviewed=reviewed,
            auto_labels=auto,
            items=items,
            detection=self.detection,
        )

    def samples(self, auto: pd.DataFrame) -> Markdown:
        """A PNG of a few labeled images (boxes drawn, or the label as caption)."""
        if auto.empty:
            return Markdown("(no images)")
        picked = auto.sort_values("item_id").head(SAMPLE_IMAGES)
        paths = picked.merge(self.data.image_items(), on="item_id")[["item_id", "path"]]
        picked = picked.set_index("item_id").loc[paths["item_id"]]
        if self.detection:
            boxes = [list(b) for b in picked["boxes"]]
            caption = ""
        else:
            boxes = [[] for _ in range(len(picked))]
            caption = "\n\n" + ", ".join(f"{i}: {lab}" for i, lab in enumerate(picked["label"]))
        png = sample_boxes_png(paths["path"].tolist(), boxes, self.spec.class_names)
        return Markdown(png_markdown(png, "sample auto-labels") + caption)

    def write_queue_files(
        self, queue: pd.DataFrame, csv_queue: pd.DataFrame, tasks: list[dict]
    ) -> QueueExport:
        """The queue's CSV and Label Studio tasks (with their config); the stored queue
        without box lists."""
        folder = self.data.queue_dir
        csv_path = write_queue_csv(csv_queue, folder / "review_queue.csv")
        tasks_path, config_path = write_label_studio(
            tasks, folder / TASKS_FILE, self.spec.class_names
        )
        report: Report = {
            "label_studio_tasks": tasks_path,
            "label_studio_config": config_path,
            "csv": csv_path,
        }
        return QueueExport(stored=queue.drop(columns=["boxes"], errors="ignore"), report=report)

    def model_version(self, auto_labels: pd.DataFrame) -> str:
        return str(auto_labels["labeler_versions"].iloc[0]) if len(auto_labels) else "{}"

    def import_gold(self) -> list[dict[str, object]]:
        """The source's own labels, as reviewer 'gold', once."""
        gold = self.data.import_gold()
        return [{"file": "gold", "rows": gold.rows}] if gold else []

    def release(self, fmt: str, out_dir: Path | None, run_id: str) -> tuple[ExportResult, Report]:
        result = release_image_label_set(self.spec, fmt=fmt, out_dir=out_dir, run_id=run_id)  # type: ignore[arg-type]
        return result, {}


def box_labels(frame: pd.DataFrame) -> pd.Series:
    """The class of every box of a table with a ``boxes`` column."""
    return pd.Series([b["label"] for boxes in frame["boxes"] for b in boxes], dtype=str)
