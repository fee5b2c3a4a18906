"""accepted_labels: human decisions plus the auto-labels the modality's gate lets through
(text and image classification: confidence threshold; detection: box-level or exact)."""

import dagster as dg
import pandas as pd

from assets.common import ProjectAssets, class_distribution, metadata, present
from assets.governance import record_gate
from labelgate.accept import automation_rate
from labelgate.plots import png_markdown, reliability_png
from labelgate.project import ACCEPTED_LABELS, AUTO_LABELS, REVIEWED_LABELS


def build_accept_asset(project: ProjectAssets) -> dg.AssetsDefinition:
    modality = project.modality

    @dg.asset(
        **project.asset_args(ACCEPTED_LABELS),
        ins={
            "auto_labels": project.asset_in(AUTO_LABELS),
            "reviewed_labels": dg.AssetIn(key=project.key(REVIEWED_LABELS)),
        },
        kinds={"pandas", "parquet"},
        description=project.describe(
            ACCEPTED_LABELS,
            "Reviewed labels plus auto-labels above the threshold whose Clopper-Pearson "
            "lower accuracy bound on the random calibration sample meets the target.",
        ),
    )
    def accepted_labels(
        context: dg.AssetExecutionContext,
        auto_labels: pd.DataFrame,
        reviewed_labels: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        auto_labels = auto_labels.drop_duplicates("item_id")
        done = modality.accept(auto_labels, reviewed_labels, context.run_id)
        result, frame, evidence = done.result, done.accepted, done.evidence
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
                "class_distribution": class_distribution(done.labels),
                "reliability": dg.MetadataValue.md(png_markdown(plot, "reliability diagram")),
                **metadata(done.report),
            },
        )

    return accepted_labels
