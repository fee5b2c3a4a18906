"""label_set for image projects: the accepted box sets (detection) or class labels
(classification) as an audited, versioned snapshot, through the text projects' machinery."""

import dagster as dg
import pandas as pd

from assets.image_common import ImageProjectAssets
from assets.label_sets import LABEL_SET, label_set_metadata, quality_results
from labelgate.governance.snapshot import snapshot_accepted
from labelgate.images.label_sets import snapshot_accepted_boxes
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
            quality_checks=quality_results(context, project),
        )
        return label_set_metadata(spec, result)

    return label_set
