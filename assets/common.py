"""What every asset factory of a project shares: keys, partitions, data access."""

from dataclasses import dataclass
from functools import cached_property

import dagster as dg
import pandas as pd

from labelgate.project import ProjectData
from labelgate.spec import ProjectSpec

# Dagster pools: ``candidate_labels`` steps share one (cap them with LABELGATE_ENCODER_SLOTS,
# e.g. one per GPU); each project's ingest has its own, limited to 1 when runs go to Celery.
ENCODER_POOL = "labelgate_encoder"

# Project-wide assets read every batch's auto_labels; all but the (N, K) ``probs`` lists,
# which would be most of their memory (see docs/BENCHMARKS.md, bench/scale.py).
AUTO_LABELS_NO_PROBS = {
    "columns": [
        "item_id",
        "batch",
        "label",
        "confidence",
        "margin",
        "entropy",
        "agreeing_sources",
        "labeler_versions",
    ]
}


@dataclass(frozen=True)
class ProjectAssets:
    """Names and storage of one project's asset graph (key prefix = project name)."""

    spec: ProjectSpec

    @property
    def name(self) -> str:
        return self.spec.name

    def key(self, asset: str) -> dg.AssetKey:
        return dg.AssetKey([self.name, asset])

    @property
    def ingest_pool(self) -> str:
        """Ingest de-duplicates against the other batches, so it must run one at a time."""
        return f"labelgate_ingest__{self.name}"

    @property
    def io_manager_key(self) -> str:
        return f"{self.name}__tables"

    @cached_property
    def partitions(self) -> dg.DynamicPartitionsDefinition:
        return dg.DynamicPartitionsDefinition(name=f"{self.name}__batches")

    @cached_property
    def data(self) -> ProjectData:
        return ProjectData(self.spec)


def class_distribution(labels: pd.Series) -> dg.MetadataValue:
    return counts_table(labels.value_counts())


def counts_table(counts: pd.Series, unit: str = "items") -> dg.MetadataValue:
    """A Markdown table of counts per class, classes sorted by name."""
    table = f"| class | {unit} |\n|---|---|\n" + "\n".join(
        f"| {label} | {count} |" for label, count in counts.sort_index().items()
    )
    return dg.MetadataValue.md(table)


def present(**values: float | None) -> dict[str, float]:
    """Numeric metadata without the values that do not exist (no threshold, no reviews yet):
    left out instead of a -1 or 0 sentinel that the UI's plots would draw as data."""
    return {name: value for name, value in values.items() if value is not None}
