"""The drift check: a blocking asset check on each batch's auto_labels.

When a batch's class distribution or mean confidence moves past the project's ``drift``
bounds relative to the approved label set, the check fails with severity ERROR; being
blocking, it fails the labeling run, so neither churn_report nor the publish step that
auto-accepts labels runs on the drifted batch until a human looks at it.
"""

import warnings

import dagster as dg
import pandas as pd

from assets.common import ProjectAssets, present
from labelgate.models.monitor import batch_drift
from labelgate.project import AUTO_LABELS

DRIFT_CHECK = "drift"


def build_drift_check(project: ProjectAssets) -> dg.AssetChecksDefinition:
    spec = project.spec
    # Partitioned asset checks are a preview feature of Dagster 1.13; the warning is expected.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)

        @dg.asset_check(
            asset=project.key(AUTO_LABELS),
            name=DRIFT_CHECK,
            blocking=True,
            partitions_def=project.partitions,
            description="Class distribution (total variation) and mean confidence of the batch "
            "against the approved label set, within the project's training.drift bounds.",
        )
        def drift(
            context: dg.AssetCheckExecutionContext, frame: pd.DataFrame
        ) -> dg.AssetCheckResult:
            result = batch_drift(spec, frame.drop_duplicates("item_id"))
            return dg.AssetCheckResult(
                passed=result.passed,
                severity=dg.AssetCheckSeverity.ERROR,
                description=result.reason,
                metadata={
                    "items": result.items,
                    "baseline_items": result.baseline_items,
                    # no baseline yet: left out, not plotted as a -1
                    **present(
                        class_shift=result.class_shift, confidence_drop=result.confidence_drop
                    ),
                    "max_class_shift": result.max_class_shift,
                    "max_confidence_drop": result.max_confidence_drop,
                    "batch_distribution": dg.MetadataValue.json(result.batch_distribution),
                    "baseline_distribution": dg.MetadataValue.json(result.baseline_distribution),
                },
            )

    return drift
