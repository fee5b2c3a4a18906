"""candidate_labels (every labeler's output) and auto_labels (the label model's verdict)."""

import time

import dagster as dg
import numpy as np
import pandas as pd

from assets.common import ProjectAssets, class_distribution
from labelgate.aggregate import aggregate
from labelgate.build import build_labelers
from labelgate.candidates import outputs_from_frame, run_labelers
from labelgate.project import AUTO_LABELS, CANDIDATE_LABELS, RAW_ITEMS
from resources.encoder import TextEncoderResource

CHUNK_SIZE = 2048


def build_label_assets(project: ProjectAssets) -> list[dg.AssetsDefinition]:
    spec = project.spec
    common = {
        "key_prefix": [project.name],
        "group_name": project.name,
        "partitions_def": project.partitions,
        "io_manager_key": project.io_manager_key,
    }

    @dg.asset(
        name=CANDIDATE_LABELS,
        ins={"raw_items": dg.AssetIn(key=project.key(RAW_ITEMS))},
        kinds={"pytorch", "scikitlearn", "parquet"},
        description="Each configured labeler's output per item, with labeler name and version. "
        "Few-shot heads read the human reviews (reviewed_labels) at run time.",
        **common,
    )
    def candidate_labels(
        context: dg.AssetExecutionContext, encoder: TextEncoderResource, raw_items: pd.DataFrame
    ) -> dg.Output[pd.DataFrame]:
        labelers = build_labelers(
            spec, encoder=encoder.get(), reviewed=project.data.reviewed_with_text()
        )
        started = time.perf_counter()
        frame = run_labelers(raw_items, labelers, spec.class_names, chunk_size=CHUNK_SIZE)
        elapsed = time.perf_counter() - started
        coverage = frame.groupby("labeler")["label"].apply(lambda s: float(s.notna().mean()))
        few_shot = {
            labeler.name: labeler.status.reason
            for labeler in labelers
            if hasattr(labeler, "status")
        }
        return dg.Output(
            frame,
            metadata={
                "dagster/row_count": len(frame),
                "items": len(raw_items),
                "items_per_second": round(len(raw_items) / elapsed, 1) if elapsed else 0.0,
                "labeler_versions": dg.MetadataValue.json(
                    {labeler.name: labeler.version for labeler in labelers}
                ),
                "coverage": dg.MetadataValue.json(coverage.round(4).to_dict()),
                "few_shot": dg.MetadataValue.json(few_shot),
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
        soft = {labeler.name: labeler.type != "rules" for labeler in spec.labelers}
        frame = aggregate(item_ids, outputs, soft, spec.class_names, seed=spec.review.seed)
        frame.insert(1, "batch", context.partition_key)
        return dg.Output(
            frame,
            metadata={
                "dagster/row_count": len(frame),
                "mean_confidence": float(np.mean(frame["confidence"])) if len(frame) else 0.0,
                "class_distribution": class_distribution(frame["label"]),
                "all_sources_agree": float(
                    frame["agreeing_sources"].map(lambda s: len(s.split(",")) if s else 0)
                    .eq(len(outputs))
                    .mean()
                )
                if len(frame)
                else 0.0,
            },
        )

    return [candidate_labels, auto_labels]
