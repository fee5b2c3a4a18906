"""Parquet IO manager: the path comes from the asset key and partition key, nothing else."""

import dagster as dg
import pandas as pd

from labelgate.storage import TableStore


class TableIOManager(dg.ConfigurableIOManager):
    """Stores DataFrames at ``{root}/{asset name}/{partition}.parquet`` via ``TableStore``.

    An unpartitioned asset that reads a partitioned one gets all its partitions concatenated.
    An input whose ``AssetIn`` metadata names ``columns`` gets only those columns.
    """

    root: str

    @property
    def _store(self) -> TableStore:
        return TableStore(self.root)

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        if obj is None:
            return
        partition = context.asset_partition_key if context.has_asset_partitions else None
        path = self._store.write(context.asset_key.path[-1], obj, partition)
        context.add_output_metadata({"path": dg.MetadataValue.path(str(path))})

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        name = context.asset_key.path[-1]
        columns = (context.definition_metadata or {}).get("columns")
        if not context.has_asset_partitions:
            return self._store.read(name, columns=columns)
        keys = list(context.asset_partition_keys)
        if len(keys) == 1:
            return self._store.read(name, keys[0], columns=columns)
        return self._store.read_all(name, keys, columns=columns)
