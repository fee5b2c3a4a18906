"""label_set for image projects: the accepted box sets (detection) or class labels
(classification) as an audited, versioned snapshot, through the text projects' machinery."""

import dagster as dg
import pandas as pd

from assets.common import class_distribution
from assets.image_common import ImageProjectAssets
from assets.label_sets import LABEL_SET, _quality_results
from labelgate.governance.metadata import LABEL_SET_VERSION_KEY, governance_metadata
from labelgate.governance.snapshot import snapshot_accepted
from labelgate.images.label_sets import snapshot_accepted_boxes
from labelgate.label_sets.content import class_counts
from labelgate.project import ACCEPTED_LABELS, AUTO_LABELS, REVIEWED_LABELS


def build_image_label_set_asset(project: ImageProjectAssets) -> dg.AssetsDefinition:
    spec = project.spec
    snapshot = snapshot_accepted_boxes if project.detection else snapshot_accepted

    @dg.asset(
        name=LABEL_SET,
        key_prefix=[project.name],
        group_name=project.name,
        ins={
            "accepted_labels": dg.AssetIn(key=project.key(ACCEPTED_LABELS)),
            "auto_labels": dg.AssetIn(key=project.key(AUTO_LABELS)),
            "reviewed_labels": dg.AssetIn(key=project.key(REVIEWED_LABELS)),
        },
        kinds={"parquet", "markdown"},
        description="Immutable, versioned snapshot of accepted_labels (box sets for detection) "
        "with a manifest (content hash, project file, detector versions, gate evidence, "
        "checks, reviewers, counts) and a datasheet. Drafts until a steward who reviewed none "
        "of its labels approves (labelgate approve).",
    )
    def label_set(
        context: dg.AssetExecutionContext,
        accepted_labels: pd.DataFrame,
        auto_labels: pd.DataFrame,
        reviewed_labels: pd.DataFrame,
    ) -> dg.MaterializeResult:
        result = snapshot(
            spec,
            accepted_labels,
            auto_labels,
            reviewed_labels,
            run_id=context.run_id,
            quality_checks=_quality_results(context, project),
        )
        if result is None:
            return dg.MaterializeResult(
                metadata={
                    **governance_metadata(spec),
                    "dagster/row_count": 0,
                    "new_version": False,
                    "reason": "nothing accepted yet: no label-set version",
                }
            )
        current = result.label_set
        labels = current.labels()
        counts = class_counts(labels)
        return dg.MaterializeResult(
            metadata={
                **governance_metadata(spec),
                LABEL_SET_VERSION_KEY: current.version,
                "dagster/row_count": len(labels),
                "new_version": result.created,
                "status": current.status,
                "content_sha256": current.manifest.get("content_sha256", ""),
                "datasheet": dg.MetadataValue.path(str(current.datasheet_path)),
                "manifest": dg.MetadataValue.path(str(current.manifest_path)),
                "class_distribution": class_distribution(
                    pd.Series(counts.index.repeat(counts.to_numpy()), dtype=str)
                ),
            }
        )

    return label_set
