"""accepted_labels for images: human decisions plus the auto-labels the gate lets through.

Detection: an image is auto-accepted when its item confidence (every box decision) reaches
the threshold the Clopper–Pearson scan proves on the calibration sample, where "correct"
means every box matched at IoU >= 0.5 with the right class and nothing extra or missing.
Classification uses the text gate unchanged. mAP50 and mean IoU against all reviewed images
are reported with every run.
"""

import dagster as dg
import pandas as pd

from assets.common import class_distribution, present
from assets.governance import record_gate
from assets.image_common import ImageProjectAssets
from labelgate.accept import accepted_labels as build_accepted
from labelgate.accept import automation_rate, calibration_evidence, run_gate
from labelgate.images.box_gate import BoxGateResult
from labelgate.images.gate import (
    accepted_boxes,
    detection_evidence,
    run_detection_gate,
    scores_against_reviews,
)
from labelgate.models.image_service import in_sample_items
from labelgate.plots import png_markdown, reliability_png
from labelgate.project import ACCEPTED_LABELS, AUTO_LABELS, REVIEWED_LABELS


def build_image_accept_asset(project: ImageProjectAssets) -> dg.AssetsDefinition:
    spec = project.spec

    @dg.asset(
        name=ACCEPTED_LABELS,
        key_prefix=[project.name],
        group_name=project.name,
        io_manager_key=project.io_manager_key,
        ins={
            "auto_labels": dg.AssetIn(key=project.key(AUTO_LABELS)),
            "reviewed_labels": dg.AssetIn(key=project.key(REVIEWED_LABELS)),
        },
        kinds={"pandas", "parquet"},
        description="Reviewed labels plus auto-labels whose confidence clears the threshold "
        "whose Clopper-Pearson lower bound of exactly-right images meets the target.",
    )
    def accepted_labels(
        context: dg.AssetExecutionContext,
        auto_labels: pd.DataFrame,
        reviewed_labels: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        auto_labels = auto_labels.drop_duplicates("item_id")
        extra: dict[str, object] = {}
        if project.detection:
            in_sample = in_sample_items(spec, auto_labels)  # never calibrate on those
            result = run_detection_gate(
                auto_labels, reviewed_labels, spec.gate, in_sample=in_sample
            )
            extra["calibration_in_sample_left_out"] = int(
                reviewed_labels["item_id"].isin(in_sample).sum()
            )
            frame = accepted_boxes(auto_labels, reviewed_labels, result, context.run_id)
            evidence = detection_evidence(auto_labels, reviewed_labels, purposes=["calibration"])
            scores = scores_against_reviews(auto_labels, reviewed_labels, spec.class_names)
            if scores is not None:
                extra.update(
                    present(
                        map50=None if scores.map50 is None else round(scores.map50, 4),
                        mean_iou=None if scores.mean_iou is None else round(scores.mean_iou, 4),
                    ),
                    review_scores=dg.MetadataValue.json(scores.to_metadata()),
                )
            if isinstance(result, BoxGateResult):
                extra.update(
                    present(
                        box_threshold=result.threshold,
                        miss_threshold=result.miss_threshold,
                        recall_lower_bound=result.recall_lower_bound,
                    )
                )
            labels = pd.Series([b["label"] for bs in frame["boxes"] for b in bs], dtype=str)
        else:
            result = run_gate(auto_labels, reviewed_labels, spec.gate)
            frame = build_accepted(auto_labels, reviewed_labels, result, context.run_id)
            evidence = calibration_evidence(auto_labels, reviewed_labels)
            labels = frame["label"]
        plot = reliability_png(
            evidence["confidence"].to_numpy(dtype=float),
            evidence["correct"].to_numpy(dtype=bool),
            auto_labels["confidence"].to_numpy(dtype=float),
            threshold=result.threshold,
        )
        n_items = len(auto_labels)
        governance = record_gate(context, project, result.to_metadata(), frame)  # ledger row
        return dg.Output(
            frame,
            metadata={
                **governance,
                "dagster/row_count": len(frame),
                "items": n_items,
                "auto_accepted": int((frame["source"] == "auto").sum()),
                "human": int((frame["source"] == "human").sum()),
                "automation_rate": round(automation_rate(frame, n_items), 4),
                "gate": dg.MetadataValue.json(result.to_metadata()),
                **present(threshold=result.threshold, accuracy_lower_bound=result.lower_bound),
                "reviews_needed": result.reviews_needed,
                "gate_reason": result.reason,
                "class_distribution": class_distribution(labels),
                "reliability": dg.MetadataValue.md(png_markdown(plot, "reliability diagram")),
                **extra,
            },
        )

    return accepted_labels
