"""raw_items: one source file (batch) → normalized, de-duplicated items + quarantine."""

import dagster as dg

from assets.common import ProjectAssets
from assets.governance import commit_ingest
from labelgate.errors import SourceError
from labelgate.governance.previews import item_preview
from labelgate.ingest import (
    WHOLE_FILE_ROW,
    discover_batches,
    drop_known_items,
    ingest_batch,
)
from labelgate.project import RAW_ITEMS


def build_raw_items(project: ProjectAssets) -> dg.AssetsDefinition:
    spec = project.spec

    @dg.asset(
        name=RAW_ITEMS,
        key_prefix=[project.name],
        group_name=project.name,
        partitions_def=project.partitions,
        io_manager_key=project.io_manager_key,
        pool=project.ingest_pool,
        kinds={"pandas", "parquet"},
        description=f"Items of one source batch of {project.name}, normalized, id = content hash.",
    )
    def raw_items(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        batches = {b.key: b for b in discover_batches(spec.source)}
        batch = batches.get(context.partition_key)
        if batch is None:
            raise SourceError(
                f"batch {context.partition_key!r} has no source file in {spec.source.path}"
            )
        result = ingest_batch(batch, spec.source)
        others = [k for k in project.data.tables.partitions(RAW_ITEMS) if k != batch.key]
        ids = project.data.tables.read_all(RAW_ITEMS, others, columns=["item_id"])
        known = set(ids.get("item_id", []))  # the ids alone: never the other batches' texts
        result = drop_known_items(result, known)
        result, governance = commit_ingest(context, project, result)  # + ledger rows
        reasons = result.quarantine["reason"].value_counts().to_dict()
        unreadable = int((result.quarantine["source_row"] == WHOLE_FILE_ROW).sum())
        return dg.MaterializeResult(
            metadata={
                **governance,
                "dagster/row_count": result.kept,
                "seen": result.seen,
                "kept": result.kept,
                "duplicates": result.duplicates,
                "quarantined": result.quarantined,
                "unreadable_files": unreadable,
                "quarantine_reasons": dg.MetadataValue.json(reasons),
                "source_file": dg.MetadataValue.path(str(batch.path)),
                "source_sha256": result.source_sha256,
                # ids and PII kinds only: Dagster's storage never holds item text
                "preview": dg.MetadataValue.md(item_preview(result.items).to_markdown(index=False)),
            },
        )

    return raw_items
