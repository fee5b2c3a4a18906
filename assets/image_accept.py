"""accepted_labels for images: human decisions plus the auto-labels the gate lets through.

Detection: the box-level gate (or, with ``gate.detection_criterion: exact``, the whole-image
one) on calibration images the champion never trained on (``labelgate.images.acceptance``).
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
from labelgate.images.acceptance import accept_detections
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
        description="Reviewed labels plus the auto-labels the gate proves on the random "
        "calibration images (detection: box precision and recall bounds by default).",
    )
    def accepted_labels(
        context: dg.AssetExecutionContext,
        auto_labels: pd.DataFrame,
        reviewed_labels: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        auto_labels = auto_labels.drop_duplicates("item_id")
        extra: dict[str, object] = {}
        if project.detection:
            done = accept_detections(spec, auto_labels, reviewed_labels, context.run_id)
            result, frame, evidence, labels = (
                done.result,
                done.accepted,
                done.evidence,
                done.labels(),
            )
            extra = {
                "calibration_in_sample_left_out": done.in_sample_left_out,
                **present(**done.numbers()),
            }
            if done.scores is not None:
                extra["review_scores"] = dg.MetadataValue.json(done.scores.to_metadata())
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
