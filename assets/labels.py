"""candidate_labels (every labeler's output) and auto_labels (the label model's verdict)."""

import time

import dagster as dg
import numpy as np
import pandas as pd

from assets.common import ENCODER_POOL, ProjectAssets, class_distribution, present
from assets.governance import candidate_writer, governance_metadata
from labelgate.aggregate import aggregate
from labelgate.build import build_labelers, labeler_roles
from labelgate.candidates import (
    CANDIDATE_SCHEMA,
    CandidateStats,
    label_stream,
    outputs_from_frame,
)
from labelgate.plots import confidence_histogram_png, png_markdown
from labelgate.project import AUTO_LABELS, CANDIDATE_LABELS, RAW_ITEMS, REVIEWED_LABELS
from resources.encoder import TextEncoderResource

CHUNK_SIZE = 2048


def build_label_assets(project: ProjectAssets) -> list[dg.AssetsDefinition]:
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
        ins={"reviewed_labels": dg.AssetIn(key=project.key(REVIEWED_LABELS))},
        kinds={"pytorch", "scikitlearn", "parquet"},
        pool=ENCODER_POOL,
        description="Each configured labeler's output per item, with labeler name and version. "
        "Few-shot heads train on reviewed_labels; items stream through in chunks.",
        **common,
    )
    def candidate_labels(
        context: dg.AssetExecutionContext,
        encoder: TextEncoderResource,
        reviewed_labels: pd.DataFrame,
    ) -> dg.MaterializeResult:
        key = context.partition_key
        labelers = build_labelers(
            spec, encoder=encoder.get(), reviewed=data.with_text(reviewed_labels)
        )
        stats = CandidateStats()
        started = time.perf_counter()
        chunks = data.tables.iter_chunks(
            RAW_ITEMS, key, columns=["item_id", "text"], chunk_size=CHUNK_SIZE
        )
        with candidate_writer(context, project, CANDIDATE_SCHEMA) as writer:  # + ledger rows
            for frame in label_stream(chunks, labelers, spec.class_names):
                writer.write(frame)
                stats.add(frame)
        elapsed = time.perf_counter() - started
        return dg.MaterializeResult(
            metadata={
                **governance_metadata(spec),
                "ledger_rows_appended": writer.appended,
                "dagster/row_count": writer.rows,
                "items": stats.items,
                "items_per_second": round(stats.items / elapsed, 1) if elapsed else 0.0,
                "labeler_versions": dg.MetadataValue.json(
                    {labeler.name: labeler.version for labeler in labelers}
                ),
                "coverage": dg.MetadataValue.json(stats.coverage()),
                "few_shot": dg.MetadataValue.json(
                    {
                        labeler.name: labeler.status.reason
                        for labeler in labelers
                        if hasattr(labeler, "status")
                    }
                ),
                "path": dg.MetadataValue.path(str(data.tables.path(CANDIDATE_LABELS, key))),
            },
        )

    @dg.asset(
        name=AUTO_LABELS,
        ins={"candidate_labels": dg.AssetIn(key=project.key(CANDIDATE_LABELS))},
        kinds={"pandas", "parquet"},
        description="One label and probability per item from a Dawid-Skene / product-of-experts "
        "label model over the candidate labels, with the sources that agreed.",
        **common,
    )
    def auto_labels(
        context: dg.AssetExecutionContext, candidate_labels: pd.DataFrame
    ) -> dg.Output[pd.DataFrame]:
        item_ids = list(dict.fromkeys(candidate_labels["item_id"]))
        outputs = outputs_from_frame(candidate_labels, item_ids, len(spec.class_names))
        soft = labeler_roles(spec)
        frame = aggregate(item_ids, outputs, soft, spec.class_names, seed=spec.review.seed)
        frame.insert(1, "batch", context.partition_key)
        n_sources = frame["agreeing_sources"].map(lambda s: len(s.split(",")) if s else 0)
        return dg.Output(
            frame,
            metadata={
                **governance_metadata(spec),
                "dagster/row_count": len(frame),
                **present(  # an empty batch has neither: no 0 drawn in the plots
                    mean_confidence=float(np.mean(frame["confidence"])) if len(frame) else None,
                    all_sources_agree=(
                        float(n_sources.eq(len(outputs)).mean()) if len(frame) else None
                    ),
                ),
                "class_distribution": class_distribution(frame["label"]),
                "confidence_histogram": dg.MetadataValue.md(
                    png_markdown(
                        confidence_histogram_png(frame["confidence"].to_numpy()),
                        "confidence histogram",
                    )
                ),
            },
        )

    return [candidate_labels, auto_labels]
