"""raw_items for images: one image folder (batch) → items with size and format + quarantine."""

import dagster as dg

from assets.governance import commit_ingest
from assets.image_common import ImageProjectAssets
from labelgate.errors import SourceError
from labelgate.images.ingest import ImageLimits, discover_image_batches, ingest_image_batch
from labelgate.images.spec import ImageSourceSpec
from labelgate.ingest import drop_known_items
from labelgate.project import RAW_ITEMS


def build_image_raw_items(project: ImageProjectAssets) -> dg.AssetsDefinition:
    spec = project.spec
    source = spec.source
    assert isinstance(source, ImageSourceSpec)

    @dg.asset(
        name=RAW_ITEMS,
        key_prefix=[project.name],
        group_name=project.name,
        partitions_def=project.partitions,
        io_manager_key=project.io_manager_key,
        kinds={"pandas", "parquet"},
        description=f"Images of one source folder of {project.name}: id = content hash, width "
        "and height; unreadable, truncated, empty, non-image and oversized files quarantined.",
    )
    def raw_items(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        batches = {b.key: b for b in discover_image_batches(source.path, source.formats)}
        batch = batches.get(context.partition_key)
        if batch is None:
            raise SourceError(
                f"batch {context.partition_key!r} has no image folder in {source.path}"
            )
        result = ingest_image_batch(batch, ImageLimits.of(source))
        others = [k for k in project.data.tables.partitions(RAW_ITEMS) if k != batch.key]
        known = set(project.data.tables.read_all(RAW_ITEMS, others).get("item_id", []))
        result = drop_known_items(result, known)
        result, governance = commit_ingest(context, project, result)  # + ledger rows
        reasons = result.quarantine["reason"].map(lambda r: r.split(":")[0]).value_counts()
        preview = result.items[["item_id", "source_id", "width", "height", "format"]].head(5)
        return dg.MaterializeResult(
            metadata={
                **governance,
                "dagster/row_count": result.kept,
                "seen": result.seen,
                "kept": result.kept,
                "duplicates": result.duplicates,
                "quarantined": result.quarantined,
                "quarantine_reasons": dg.MetadataValue.json(reasons.to_dict()),
                "quarantine": dg.MetadataValue.md(
                    result.quarantine[["excerpt", "reason"]].head(10).to_markdown(index=False)
                ),
                "source_folder": dg.MetadataValue.path(str(batch.folder)),
                "source_sha256": result.source_sha256,
                "preview": dg.MetadataValue.md(preview.to_markdown(index=False)),
            },
        )

    return raw_items
