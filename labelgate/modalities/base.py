"""The modality protocol: what differs between text, image detection and image classification.

The asset graph (``raw_items → candidate_labels → auto_labels → review_queue /
reviewed_labels → accepted_labels → label_set → label_export``), its checks, sensors and jobs
are built once, in ``assets/`` and ``pipelines/``. A modality supplies only the domain steps
that really differ; it knows nothing of Dagster.

A new modality (tabular, audio, ...) is a new module here with a class implementing
:class:`Modality`, registered in :data:`labelgate.modalities.MODALITIES`. It must say:

* how the source becomes batches and items: ``batches``, ``ingest``, ``ingest_report``;
* how labelers run on a chunk of items and how their candidates become one label per
  item: ``labeling`` (schema, ledger rows, stream, report), ``consolidate``, ``auto_report``;
* how reviews go out and come back: ``review_queue``, ``export_queue``, ``import_reviews``;
* what a decision is and what "correct" means for the gate: ``accept``;
* how a label set is snapshotted and released: ``snapshot``, ``release``,
  ``release_formats``;
* which expectation suites check its tables: ``item_kind`` and ``label_kind`` (see
  ``quality.suites``).

Reports are plain dicts of metadata (str, int, float, bool, dict, list, ``Path`` or
:class:`Markdown`); the assets turn them into Dagster metadata.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

import pandas as pd
import pyarrow as pa

from labelgate.governance.export import ExportResult
from labelgate.governance.snapshot import snapshot_accepted
from labelgate.ingest import IngestResult
from labelgate.label_sets import PublishResult
from labelgate.ledger import LedgerRow
from labelgate.project import ProjectData
from labelgate.review.budget import QueueSizes
from labelgate.spec import ProjectSpec

Report = dict[str, Any]


class Markdown(str):
    """Report text to show rendered (tables, plots as inline PNG)."""


@dataclass(frozen=True)
class SourceBatch:
    """One batch of the source: a file (text) or a folder (images)."""

    key: str  # the partition key
    location: Path
    fingerprint: str  # changes whenever the batch's content may have changed
    changed_at: float  # newest modification time of its files (seconds since the epoch)
    native: Any = None  # the modality's own batch object, for ``ingest``


@dataclass(frozen=True)
class LabelingInputs:
    """What the engine hands every labeling run; a modality uses what it needs."""

    reviewed: pd.DataFrame | None = None  # reviewed_labels, for few-shot labelers
    encoder: Callable[[], Any] | None = None  # the shared text encoder, loaded on first call


class CandidateLabeling(Protocol):
    """One candidate_labels run: its table schema, ledger rows and report."""

    schema: pa.Schema

    def ledger_rows(self, path: Path, batch: str) -> Iterator[LedgerRow]:
        """The ``label_proposed`` rows of the written candidate file."""
        ...

    def stream(self, chunks: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        """Candidate rows per chunk of items, counted for the report as they pass."""
        ...

    def report(self, elapsed: float) -> Report:
        """Metadata of the finished run (``elapsed`` seconds)."""
        ...


@dataclass(frozen=True)
class QueueExport:
    """The review queue as stored (``stored``) and what its export reports."""

    stored: pd.DataFrame
    report: Report


@dataclass(frozen=True)
class ReviewImport:
    """Review files imported into the project's store."""

    imported: list[dict[str, Any]]  # one entry per file: file, rows (+ modality extras)
    report: Report = field(default_factory=dict)


@dataclass(frozen=True)
class LabelTables:
    """The tables a label set is made of."""

    accepted: pd.DataFrame
    auto_labels: pd.DataFrame
    reviewed: pd.DataFrame


class GateOutcome(Protocol):
    """What every gate result reports (text gate, box gate)."""

    threshold: float | None
    lower_bound: float | None
    reviews_needed: int
    reason: str

    def to_metadata(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Acceptance:
    """accepted_labels and the gate's evidence."""

    result: GateOutcome
    accepted: pd.DataFrame
    evidence: pd.DataFrame  # calibration items: ``confidence``, ``correct``
    labels: pd.Series  # the class of every accepted label (or box)
    report: Report = field(default_factory=dict)


class Modality(Protocol):
    """The steps of one modality, bound to a project spec."""

    name: str
    item_kind: Literal["text", "image"]
    label_kind: Literal["class", "boxes"]
    batch_noun: str  # "file", "image folder": how sensor descriptions name a batch
    uses_text_encoder: bool  # candidate_labels gets the encoder and reviewed_labels
    label_columns: tuple[str, ...]  # raw_items columns a labeling chunk carries
    chunk_size: int
    release_formats: tuple[str, ...]  # the first is the default
    spec: ProjectSpec

    @property
    def data(self) -> ProjectData:
        """The project's tables and review stores."""
        ...

    def columns(self, table: str) -> list[str] | None:
        """Columns of ``table`` the project-wide assets read (None: all)."""
        ...

    def description(self, asset: str) -> str | None:
        """The asset's description for this modality (None: the generic one)."""
        ...

    def batches(self) -> list[SourceBatch]:
        """The source's batches, in key order."""
        ...

    def ingest(self, batch: SourceBatch) -> IngestResult:
        """Items and quarantine of one batch (not yet de-duplicated against others)."""
        ...

    def ingest_report(self, result: IngestResult, batch: SourceBatch) -> Report: ...

    def labeling(self, inputs: LabelingInputs) -> CandidateLabeling: ...

    def consolidate(self, candidates: pd.DataFrame, batch: str) -> pd.DataFrame:
        """One auto-label per item from the candidate rows of one batch."""
        ...

    def auto_report(self, auto: pd.DataFrame, candidates: pd.DataFrame) -> Report: ...

    def review_queue(
        self, auto: pd.DataFrame, items: pd.DataFrame, reviewed: pd.DataFrame, sizes: QueueSizes
    ) -> pd.DataFrame:
        """The items a human must see, ranked."""
        ...

    def export_queue(
        self, queue: pd.DataFrame, auto_labels: pd.DataFrame, raw_items: pd.DataFrame
    ) -> QueueExport:
        """Write the queue's reviewer files (CSV, Label Studio tasks)."""
        ...

    def import_reviews(
        self, files: Sequence[str], *, reviewer: str | None, run_id: str
    ) -> ReviewImport:
        """Import review files (``reviewer``: who made files that do not say)."""
        ...

    def label_counts(self, labels: pd.DataFrame) -> pd.Series:
        """The class of every label (or box) of a labels table."""
        ...

    def accept(self, auto: pd.DataFrame, reviewed: pd.DataFrame, run_id: str) -> Acceptance:
        """Gate the auto-labels on the reviewed calibration sample; build accepted_labels."""
        ...

    def snapshot(
        self, tables: LabelTables, *, run_id: str, quality_checks: dict[str, str]
    ) -> PublishResult | None:
        """Publish the accepted labels as a new label-set version (None: nothing accepted)."""
        ...

    def release(
        self, fmt: str, out_dir: Path | None, run_id: str
    ) -> tuple[ExportResult, Report]: ...


class ModalityBase:
    """Defaults the built-in modalities share: descriptions by asset name, every column
    read, label sets published by ``publish`` (class labels unless overridden)."""

    descriptions: ClassVar[dict[str, str]] = {}
    publish = staticmethod(snapshot_accepted)

    def __init__(self, spec: ProjectSpec) -> None:
        self.spec = spec

    def columns(self, table: str) -> list[str] | None:
        return None

    def description(self, asset: str) -> str | None:
        found = self.descriptions.get(asset)
        return None if found is None else found.format(name=self.spec.name)

    def snapshot(
        self, tables: LabelTables, *, run_id: str, quality_checks: dict[str, str]
    ) -> PublishResult | None:
        return self.publish(
            self.spec,
            tables.accepted,
            tables.auto_labels,
            tables.reviewed,
            run_id=run_id,
            quality_checks=quality_checks,
        )
