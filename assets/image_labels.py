"""candidate_labels (each YOLO source's output) and auto_labels (consolidated) for images."""

import time

import dagster as dg
import numpy as np
import pandas as pd

from assets.common import class_distribution, present
from assets.governance import candidate_writer
from assets.image_common import ImageProjectAssets
from labelgate.aggregate import aggregate
from labelgate.candidates import CANDIDATE_SCHEMA, CandidateStats, label_stream, outputs_from_frame
from labelgate.images.labeling import (
    DETECTION_CANDIDATE_SCHEMA,
    DetectionStats,
    consolidate,
    detection_stream,
)
from labelgate.images.plots import sample_boxes_png
from labelgate.images.recording import detection_candidate_rows
from labelgate.plots import confidence_histogram_png, png_markdown
from labelgate.project import AUTO_LABELS, CANDIDATE_LABELS, RAW_ITEMS

CHUNK_SIZE = 256
SAMPLE_IMAGES = 6


def build_image_label_assets(project: ImageProjectAssets) -> list[dg.AssetsDefinition]:
    spec, data = project.spec, project.data
    common = {
        "key_prefix": [project.name],
        "group_name": project.name,
        "partitions_def": project.partitions,
        "io_manager_key": project.io_manager_key,
    }

    @dg.asset(
        name=CANDIDATE_LABELS,
        deps=[project.key(RAW_ITEMS)],
        kinds={"pytorch", "parquet"},
        description="Each YOLO source's boxes (or class probabilities) per image, with labeler "
        "name and version (hash of the weights); a source that fails on an image records the "
        "error instead of failing the run.",
        **common,
    )
    def candidate_labels(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        key = context.partition_key
        started = time.perf_counter()
        chunks = data.tables.iter_chunks(
            RAW_ITEMS, key, columns=["item_id", "path"], chunk_size=CHUNK_SIZE
        )
        if project.detection:
            detectors = project.detectors()
            stats = DetectionStats()
            schema, rows = DETECTION_CANDIDATE_SCHEMA, detection_candidate_rows
            with candidate_writer(context, project, schema, rows) as writer:  # + ledger rows
                for frame in detection_stream(chunks, detectors):
                    writer.write(frame)
                    stats.add(frame)
            versions = {d.name: d.version for d in detectors}
            extra = {
                "boxes": dg.MetadataValue.json(stats.boxes),
                "errors": dg.MetadataValue.json(stats.errors),
                "first_errors": dg.MetadataValue.json(stats.first_errors),
                "device": ",".join(sorted({d.device for d in detectors})),
            }
            items = stats.items
        else:
            classifiers = project.classifiers()
            counts = CandidateStats()
            texts = (c.rename(columns={"path": "text"}) for c in chunks)
            with candidate_writer(context, project, CANDIDATE_SCHEMA) as writer:  # + ledger rows
                for frame in label_stream(texts, classifiers, spec.class_names):
                    writer.write(frame)
                    counts.add(frame)
            versions = {c.name: c.version for c in classifiers}
            extra = {"coverage": dg.MetadataValue.json(counts.coverage())}
            items = counts.items
        elapsed = time.perf_counter() - started
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": writer.rows,
                "ledger_rows_appended": writer.appended,
                "items": items,
                "images_per_second": round(items / elapsed, 2) if elapsed else 0.0,
                "labeler_versions": dg.MetadataValue.json(versions),
                **extra,
            }
        )

    @dg.asset(
        name=AUTO_LABELS,
        ins={"candidate_labels": dg.AssetIn(key=project.key(CANDIDATE_LABELS))},
        kinds={"pandas", "parquet"},
        description="One box set per image (weighted box fusion over the sources) with per-box "
        "and per-item confidence; for classification one label per image from the label model.",
        **common,
    )
    def auto_labels(
        context: dg.AssetExecutionContext, candidate_labels: pd.DataFrame
    ) -> dg.Output[pd.DataFrame]:
        batch = context.partition_key
        if project.detection:
            frame = consolidate(candidate_labels, box_threshold=project.box_threshold, batch=batch)
            labels = pd.Series([b["label"] for boxes in frame["boxes"] for b in boxes], dtype=str)
            extra = {
                "boxes": int(frame["n_boxes"].sum()),
                "images_without_boxes": int((frame["n_boxes"] == 0).sum()),
                "failed_images": int(candidate_labels["item_id"].nunique() - len(frame)),
                "box_class_distribution": class_distribution(labels),
            }
        else:
            item_ids = list(dict.fromkeys(candidate_labels["item_id"]))
            outputs = outputs_from_frame(candidate_labels, item_ids, len(spec.class_names))
            soft = {labeler.name: True for labeler in spec.labelers}
            frame = aggregate(item_ids, outputs, soft, spec.class_names, seed=spec.review.seed)
            frame.insert(1, "batch", batch)
            extra = {"class_distribution": class_distribution(frame["label"])}
        return dg.Output(
            frame,
            metadata={
                "dagster/row_count": len(frame),
                **present(
                    mean_confidence=float(np.mean(frame["confidence"])) if len(frame) else None
                ),
                "confidence_histogram": dg.MetadataValue.md(
                    png_markdown(
                        confidence_histogram_png(frame["confidence"].to_numpy(dtype=float)),
                        "confidence histogram",
                    )
                ),
                "samples": dg.MetadataValue.md(_samples(project, frame)),
                **extra,
            },
        )

    return [candidate_labels, auto_labels]


def _samples(project: ImageProjectAssets, frame: pd.DataFrame) -> str:
    """Markdown with a PNG of a few labeled images (boxes drawn, or the label as caption)."""
    if frame.empty:
        return "(no images)"
    picked = frame.sort_values("item_id").head(SAMPLE_IMAGES)
    paths = picked.merge(project.data.image_items(), on="item_id")[["item_id", "path"]]
    picked = picked.set_index("item_id").loc[paths["item_id"]]
    if project.detection:
        boxes = [list(b) for b in picked["boxes"]]
        caption = ""
    else:
        boxes = [[] for _ in range(len(picked))]
        caption = "\n\n" + ", ".join(f"{i}: {label}" for i, label in enumerate(picked["label"]))
    png = sample_boxes_png(paths["path"].tolist(), boxes, project.spec.class_names)
    return png_markdown(png, "sample auto-labels") + caption
