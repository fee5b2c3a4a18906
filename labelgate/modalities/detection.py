"""Image detection: YOLO detectors (plus the promoted student) propose boxes, weighted box
fusion consolidates them, the box-level gate (or the whole-image one, with
``gate.detection_criterion: exact``) decides; reviews come back as Label Studio, YOLO-txt
or COCO files."""

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar, Literal

import pandas as pd
import pyarrow as pa

from labelgate.images.acceptance import accept_detections
from labelgate.images.exchange import label_studio_tasks
from labelgate.images.label_sets import snapshot_accepted_boxes
from labelgate.images.labelers import YoloDetector
from labelgate.images.labeling import (
    DETECTION_CANDIDATE_SCHEMA,
    DetectionStats,
    consolidate,
    detection_stream,
)
from labelgate.images.queue import queue_for_csv
from labelgate.images.recording import detection_candidate_rows
from labelgate.images.spec import YoloLabelerSpec
from labelgate.ledger import LedgerRow
from labelgate.modalities.base import (
    Acceptance,
    LabelingInputs,
    QueueExport,
    Report,
    ReviewImport,
)
from labelgate.modalities.images import IMAGE_DESCRIPTIONS, ImageModality, box_labels
from labelgate.modalities.report import counts_markdown, present
from labelgate.models.image_service import champion_detector, teacher_detectors
from labelgate.project import AUTO_LABELS, CANDIDATE_LABELS


class DetectionLabeling:
    """Every detector's boxes per image; a detector failing on an image records the error."""

    schema: pa.Schema = DETECTION_CANDIDATE_SCHEMA

    def __init__(self, detectors: Sequence[YoloDetector]) -> None:
        self.detectors = list(detectors)
        self.stats = DetectionStats()

    def ledger_rows(self, path: Path, batch: str) -> Iterator[LedgerRow]:
        return detection_candidate_rows(path, batch)

    def stream(self, chunks: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for frame in detection_stream(chunks, self.detectors):
            self.stats.add(frame)
            yield frame

    def report(self, elapsed: float) -> Report:
        stats = self.stats
        return {
            "items": stats.items,
            "images_per_second": round(stats.items / elapsed, 2) if elapsed else 0.0,
            "labeler_versions": {d.name: d.version for d in self.detectors},
            "boxes": stats.boxes,
            "errors": stats.errors,
            "first_errors": stats.first_errors,
            "device": ",".join(sorted({d.device for d in self.detectors})),
            "images_scored": {d.name: getattr(d, "scored", stats.items) for d in self.detectors},
        }


class DetectionModality(ImageModality):
    name = "image_detection"
    label_kind: Literal["class", "boxes"] = "boxes"
    release_formats: tuple[str, ...] = ("coco", "labelstudio", "csv")
    publish = staticmethod(snapshot_accepted_boxes)
    descriptions: ClassVar[dict[str, str]] = {
        **IMAGE_DESCRIPTIONS,
        CANDIDATE_LABELS: "Each YOLO source's boxes per image, with labeler name and version "
        "(hash of the weights); a source that fails on an image records the error instead "
        "of failing the run.",
        AUTO_LABELS: "One box set per image (weighted box fusion over the sources) with "
        "per-box and per-item confidence.",
    }

    def detectors(self) -> list[YoloDetector]:
        """The configured detectors, plus the promoted student (source ``champion``, its
        version the model id) once the project has one. Each caches its boxes per image."""
        champion = champion_detector(self.spec)
        return [*teacher_detectors(self.spec)] + ([champion] if champion else [])

    @property
    def box_threshold(self) -> float:
        """Fused boxes at or above the lowest detector ``conf`` make the label."""
        return min(s.conf for s in self.spec.labelers if isinstance(s, YoloLabelerSpec))

    def labeling(self, inputs: LabelingInputs) -> DetectionLabeling:
        return DetectionLabeling(self.detectors())

    def consolidate(self, candidates: pd.DataFrame, batch: str) -> pd.DataFrame:
        return consolidate(candidates, box_threshold=self.box_threshold, batch=batch)

    def auto_report(self, auto: pd.DataFrame, candidates: pd.DataFrame) -> Report:
        return {
            "boxes": int(auto["n_boxes"].sum()),
            "images_without_boxes": int((auto["n_boxes"] == 0).sum()),
            "failed_images": int(candidates["item_id"].nunique() - len(auto)),
            "box_class_distribution": counts_markdown(box_labels(auto).value_counts()),
            "samples": self.samples(auto),
        }

    def export_queue(
        self, queue: pd.DataFrame, auto_labels: pd.DataFrame, raw_items: pd.DataFrame
    ) -> QueueExport:
        """The CSV lists what to review (the predicted boxes summarized); box answers come
        back as Label Studio, YOLO or COCO files."""
        versions = self.model_version(auto_labels)
        tasks = label_studio_tasks(queue, key="predictions", model_version=versions)
        return self.write_queue_files(queue, queue_for_csv(queue), tasks)

    def import_reviews(
        self, files: Sequence[str], *, reviewer: str | None, run_id: str
    ) -> ReviewImport:
        """Gold labels first; then each Label Studio / YOLO-txt / COCO file."""
        imported = self.import_gold()
        for file in files:
            result = self.data.import_review_file(Path(file), reviewer=reviewer)
            imported.append({"file": file, "rows": result.rows})  # type: ignore[attr-defined]
        return ReviewImport(imported)

    def label_counts(self, labels: pd.DataFrame) -> pd.Series:
        return box_labels(labels)

    def accept(self, auto: pd.DataFrame, reviewed: pd.DataFrame, run_id: str) -> Acceptance:
        """Calibration images the champion never trained on; mAP50 and mean IoU against
        every reviewed image reported with each run."""
        done = accept_detections(self.spec, auto, reviewed, run_id)
        report: Report = {
            "calibration_in_sample_left_out": done.in_sample_left_out,
            **present(**done.numbers()),
        }
        if done.scores is not None:
            report["review_scores"] = done.scores.to_metadata()
        return Acceptance(done.result, done.accepted, done.evidence, done.labels(), report)
