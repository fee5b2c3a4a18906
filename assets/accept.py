"""accepted_labels: human decisions plus the auto-labels the statistical gate lets through."""

import dagster as dg
import pandas as pd

from assets.common import AUTO_LABELS_NO_PROBS, ProjectAssets, class_distribution, present
from assets.governance import record_gate
from labelgate.accept import accepted_labels as build_accepted
from labelgate.accept import automation_rate, calibration_evidence, run_gate
from labelgate.plots import png_markdown, reliability_png
from labelgate.project import ACCEPTED_LABELS, AUTO_LABELS, REVIEWED_LABELS


def build_accept_asset(project: ProjectAssets) -> dg.AssetsDefinition:
    spec = project.spec

    @dg.asset(
        name=ACCEPTED_LABELS,
        key_prefix=[project.name],
        group_name=project.name,
        io_manager_key=project.io_manager_key,
        ins={
            "auto_labels": dg.AssetIn(key=project.key(AUTO_LABELS), metadata=AUTO_LABELS_NO_PROBS),
            "reviewed_labels": dg.AssetIn(key=project.key(REVIEWED_LABELS)),
        },
        kinds={"pandas", "parquet"},
        description="Reviewed labels plus auto-labels above the threshold whose Clopper-Pearson "
        "lower accuracy bound on the random calibration sample meets the target.",
    )
    def accepted_labels(
        context: dg.AssetExecutionContext,
        auto_labels: pd.DataFrame,
        reviewed_labels: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        auto_labels = auto_labels.drop_duplicates("item_id")
        result = run_gate(auto_labels, reviewed_labels, spec.gate)
        frame = build_accepted(auto_labels, reviewed_labels, result, context.run_id)
        evidence = calibration_evidence(auto_labels, reviewed_labels)
        plot = reliability_png(
            evidence["confidence"].to_numpy(),
            evidence["correct"].to_numpy(),
            auto_labels["confidence"].to_numpy(),
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
                **present(
                    threshold=result.threshold,
                    estimated_accuracy=result.accuracy,
                    accuracy_lower_bound=result.lower_bound,
                ),
                "reviews_needed": result.reviews_needed,
                "gate_reason": result.reason,
                "class_distribution": class_distribution(frame["label"]),
                "reliability": dg.MetadataValue.md(png_markdown(plot, "reliability diagram")),
            },
        )

    return accepted_labels
