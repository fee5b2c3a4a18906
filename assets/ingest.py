"""raw_items: one source batch (a file, an image folder) → de-duplicated items + quarantine."""

import dagster as dg

from assets.common import ProjectAssets, metadata
from assets.governance import commit_ingest
from labelgate.errors import SourceError
from labelgate.ingest import drop_known_items
from labelgate.project import RAW_ITEMS


def build_raw_items(project: ProjectAssets) -> dg.AssetsDefinition:
    modality = project.modality

    @dg.asset(
        **project.asset_args(RAW_ITEMS, partitioned=True),
        pool=project.ingest_pool,
        kinds={"pandas", "parquet"},
        description=project.describe(
            RAW_ITEMS, f"Items of one source batch of {project.name}, id = content hash."
        ),
    )
    def raw_items(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        batch = next((b for b in modality.batches() if b.key == context.partition_key), None)
        if batch is None:
            raise SourceError(
                f"batch {context.partition_key!r} has no source {modality.batch_noun} in "
                f"{project.spec.source.path}"
            )
        result = modality.ingest(batch)
        others = [k for k in project.data.tables.partitions(RAW_ITEMS) if k != batch.key]
        ids = project.data.tables.read_all(RAW_ITEMS, others, columns=["item_id"])
        known = set(ids.get("item_id", []))  # the ids alone: never the other batches' items
        result = drop_known_items(result, known)
        result, governance = commit_ingest(context, project, result)  # + ledger rows
        return dg.MaterializeResult(
            metadata={
                **governance,
                "dagster/row_count": result.kept,
                "seen": result.seen,
                "kept": result.kept,
                "duplicates": result.duplicates,
                "quarantined": result.quarantined,
                "source_sha256": result.source_sha256,
                **metadata(modality.ingest_report(result, batch)),
            },
        )

    return raw_items
