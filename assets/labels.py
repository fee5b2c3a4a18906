"""candidate_labels (every labeler's output) and auto_labels (the label model's verdict).

What a labeler is and how its candidates consolidate is the modality's (``labelgate.
modalities``); a modality that ``uses_text_encoder`` gets the shared encoder resource and
reviewed_labels (few-shot heads train on them)."""

import time

import dagster as dg
import pandas as pd

from assets.common import ENCODER_POOL, ProjectAssets, metadata
from assets.governance import candidate_writer, governance_metadata
from labelgate.modalities.base import LabelingInputs
from labelgate.modalities.report import confidence_report
from labelgate.project import AUTO_LABELS, CANDIDATE_LABELS, RAW_ITEMS, REVIEWED_LABELS
from resources.encoder import TextEncoderResource


def _label_batch(
    context: dg.AssetExecutionContext, project: ProjectAssets, inputs: LabelingInputs
) -> dg.MaterializeResult:
    """Stream the batch's items through the modality's labelers into candidate_labels."""
    modality, data, key = project.modality, project.data, context.partition_key
    labeling = modality.labeling(inputs)
    started = time.perf_counter()
    chunks = data.tables.iter_chunks(
        RAW_ITEMS, key, columns=list(modality.label_columns), chunk_size=modality.chunk_size
    )
    with candidate_writer(context, project, labeling.schema, labeling.ledger_rows) as writer:
        for frame in labeling.stream(chunks):  # + ledger rows, committed with the file
            writer.write(frame)
    return dg.MaterializeResult(
        metadata={
            **governance_metadata(project.spec),
            "ledger_rows_appended": writer.appended,
            "dagster/row_count": writer.rows,
            **metadata(labeling.report(time.perf_counter() - started)),
            "path": dg.MetadataValue.path(str(data.tables.path(CANDIDATE_LABELS, key))),
        },
    )


def build_candidate_labels(project: ProjectAssets) -> dg.AssetsDefinition:
    asset = dg.asset(
        **project.asset_args(CANDIDATE_LABELS, partitioned=True),
        deps=[project.key(RAW_ITEMS)],
        kinds={"pytorch", "scikitlearn", "parquet"},
        pool=ENCODER_POOL,
        description=project.describe(
            CANDIDATE_LABELS,
            "Each configured labeler's output per item, with labeler name and version. "
            "Few-shot heads train on reviewed_labels; items stream through in chunks.",
        ),
        ins=(
            {"reviewed_labels": dg.AssetIn(key=project.key(REVIEWED_LABELS))}
            if project.modality.uses_text_encoder
            else None
        ),
    )
    if project.modality.uses_text_encoder:

        @asset
        def candidate_labels(
            context: dg.AssetExecutionContext,
            encoder: TextEncoderResource,
            reviewed_labels: pd.DataFrame,
        ) -> dg.MaterializeResult:
            inputs = LabelingInputs(reviewed=reviewed_labels, encoder=encoder.get)
            return _label_batch(context, project, inputs)

        return candidate_labels

    @asset
    def candidate_labels_without_encoder(
        context: dg.AssetExecutionContext,
    ) -> dg.MaterializeResult:
        return _label_batch(context, project, LabelingInputs())

    return candidate_labels_without_encoder


def build_auto_labels(project: ProjectAssets) -> dg.AssetsDefinition:
    modality = project.modality

    @dg.asset(
        **project.asset_args(AUTO_LABELS, partitioned=True),
        ins={"candidate_labels": dg.AssetIn(key=project.key(CANDIDATE_LABELS))},
        kinds={"pandas", "parquet"},
        description=project.describe(
            AUTO_LABELS,
            "One label and probability per item from a Dawid-Skene / product-of-experts "
            "label model over the candidate labels, with the sources that agreed.",
        ),
    )
    def auto_labels(
        context: dg.AssetExecutionContext, candidate_labels: pd.DataFrame
    ) -> dg.Output[pd.DataFrame]:
        frame = modality.consolidate(candidate_labels, context.partition_key)
        report = {**confidence_report(frame), **modality.auto_report(frame, candidate_labels)}
        return dg.Output(
            frame,
            metadata={
                **governance_metadata(project.spec),
                "dagster/row_count": len(frame),
                **metadata(report),
            },
        )

    return auto_labels


def build_label_assets(project: ProjectAssets) -> list[dg.AssetsDefinition]:
    return [build_candidate_labels(project), build_auto_labels(project)]
