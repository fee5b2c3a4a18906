"""What every asset factory of a project shares: keys, partitions, data access, the project's
modality, and the one adapter from modality reports to Dagster metadata."""

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from labelgate.modalities import modality_for
from labelgate.modalities.base import Markdown, Modality, Report
from labelgate.modalities.report import counts_markdown, present
from labelgate.modalities.text import AUTO_LABELS_NO_PROBS as _NO_PROBS
from labelgate.project import ProjectData
from labelgate.spec import ProjectSpec

# Dagster pools: ``candidate_labels`` steps share one (cap them with LABELGATE_ENCODER_SLOTS,
# e.g. one per GPU); each project's ingest has its own, limited to 1 when runs go to Celery.
ENCODER_POOL = "labelgate_encoder"

# Input metadata of the project-wide text assets reading auto_labels: every column but the
# (N, K) ``probs`` lists (see ``labelgate.modalities.text``).
AUTO_LABELS_NO_PROBS = {"columns": _NO_PROBS}


@dataclass(frozen=True)
class ProjectAssets:
    """Names and storage of one project's asset graph (key prefix = project name), and the
    modality whose steps its assets run (by default the spec's)."""

    spec: ProjectSpec
    modality: Modality = field(default=None, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.modality is None:
            object.__setattr__(self, "modality", modality_for(self.spec))

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

    @property
    def data(self) -> ProjectData:
        return self.modality.data

    def asset_args(
        self, name: str, *, partitioned: bool = False, table: bool = True
    ) -> dict[str, Any]:
        """The ``dg.asset`` arguments every stage shares: its name under the project's key
        prefix and group, batch partitions (``partitioned``), the table IO manager
        (``table``)."""
        args: dict[str, Any] = {"name": name, "key_prefix": [self.name], "group_name": self.name}
        if partitioned:
            args["partitions_def"] = self.partitions
        if table:
            args["io_manager_key"] = self.io_manager_key
        return args

    def selection(self, *names: str) -> dg.AssetSelection:
        return dg.AssetSelection.assets(*(self.key(n) for n in names))

    def asset_in(self, table: str) -> dg.AssetIn:
        """An input on ``table``, reading only the columns the modality needs."""
        columns = self.modality.columns(table)
        return dg.AssetIn(key=self.key(table), metadata={"columns": columns} if columns else None)

    def describe(self, asset: str, default: str) -> str:
        return self.modality.description(asset) or default


def metadata(report: Report) -> dict[str, Any]:
    """Dagster metadata of a modality report: Markdown rendered, paths as paths, dicts and
    lists as JSON, numbers and strings as they are."""
    out: dict[str, Any] = {}
    for name, value in report.items():
        if isinstance(value, Markdown):
            out[name] = dg.MetadataValue.md(str(value))
        elif isinstance(value, Path):
            out[name] = dg.MetadataValue.path(str(value))
        elif isinstance(value, dict | list):
            out[name] = dg.MetadataValue.json(value)
        else:
            out[name] = value
    return out


def class_distribution(labels: pd.Series) -> dg.MetadataValue:
    return counts_table(labels.value_counts())


def counts_table(counts: pd.Series, unit: str = "items") -> dg.MetadataValue:
    """A Markdown table of counts per class, classes sorted by name."""
    return dg.MetadataValue.md(str(counts_markdown(counts, unit)))


__all__ = [
    "AUTO_LABELS_NO_PROBS",
    "ENCODER_POOL",
    "ProjectAssets",
    "class_distribution",
    "counts_table",
    "metadata",
    "present",
]
