"""Text: a source file per batch, rules / embedding / contrastive / HF labelers, the
confidence-threshold gate, CSV and Label Studio review files, PII-gated queue and release."""

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import ClassVar, Literal

import pandas as pd

from labelgate.build import build_labelers, labeler_roles
from labelgate.governance.export import ExportResult, release_label_set
from labelgate.governance.identities_pin import reviewer_resolver
from labelgate.governance.previews import item_preview
from labelgate.governance.recording import record_reviews
from labelgate.governance.review_import import import_review_files
from labelgate.ingest import WHOLE_FILE_ROW, IngestResult, discover_batches, ingest_batch
from labelgate.ledger import Ledger
from labelgate.modalities.base import (
    LabelingInputs,
    Markdown,
    ModalityBase,
    QueueExport,
    Report,
    ReviewImport,
    SourceBatch,
)
from labelgate.modalities.class_labels import (
    ClassLabeling,
    ClassLabelSteps,
    class_auto_report,
    consolidate_classes,
)
from labelgate.models.active import prioritize_queue
from labelgate.pii import apply_pii_policy
from labelgate.project import AUTO_LABELS, RAW_ITEMS, ProjectData
from labelgate.review import (
    select_review_queue,
    with_source_ids,
    write_label_studio_tasks,
    write_queue_csv,
)
from labelgate.review.budget import QueueSizes
from labelgate.spec import ProjectSpec

# Project-wide assets read every batch's auto_labels; all but the (N, K) ``probs`` lists,
# which would be most of their memory (see docs/BENCHMARKS.md, bench/scale.py).
AUTO_LABELS_NO_PROBS = [
    "item_id",
    "batch",
    "label",
    "confidence",
    "margin",
    "entropy",
    "agreeing_sources",
    "labeler_versions",
]


def _stat_fingerprint(path: Path) -> tuple[str, float]:
    stat = path.stat() if path.exists() else path.lstat()  # a broken link is a batch too
    return f"{stat.st_size}:{stat.st_mtime_ns}", stat.st_mtime


class TextLabeling(ClassLabeling):
    """Text labelers; few-shot heads report why they did (not) train."""

    def report(self, elapsed: float) -> Report:
        few_shot = {
            labeler.name: labeler.status.reason
            for labeler in self.labelers
            if hasattr(labeler, "status")
        }
        rate = round(self.stats.items / elapsed, 1) if elapsed else 0.0
        return {**super().report(elapsed), "items_per_second": rate, "few_shot": few_shot}


class TextModality(ClassLabelSteps, ModalityBase):
    name = "text"
    item_kind: Literal["text", "image"] = "text"
    label_kind: Literal["class", "boxes"] = "class"
    batch_noun = "file"
    uses_text_encoder = True
    label_columns = ("item_id", "text")
    chunk_size = 2048
    release_formats: tuple[str, ...] = ("parquet", "csv", "labelstudio")

    descriptions: ClassVar[dict[str, str]] = {
        RAW_ITEMS: "Items of one source batch of {name}, normalized, id = content hash.",
    }

    @cached_property
    def data(self) -> ProjectData:
        return ProjectData(self.spec)

    def columns(self, table: str) -> list[str] | None:
        return {
            AUTO_LABELS: AUTO_LABELS_NO_PROBS,
            RAW_ITEMS: ["item_id", "text", "source_id"],
        }.get(table)

    def batches(self) -> list[SourceBatch]:
        found = []
        for batch in discover_batches(self.spec.source):
            fingerprint, changed_at = _stat_fingerprint(batch.path)
            found.append(SourceBatch(batch.key, batch.path, fingerprint, changed_at, batch))
        return found

    def ingest(self, batch: SourceBatch) -> IngestResult:
        return ingest_batch(batch.native, self.spec.source)

    def ingest_report(self, result: IngestResult, batch: SourceBatch) -> Report:
        quarantine = result.quarantine
        return {
            "unreadable_files": int((quarantine["source_row"] == WHOLE_FILE_ROW).sum()),
            "quarantine_reasons": quarantine["reason"].value_counts().to_dict(),
            "source_file": batch.location,
            # ids and PII kinds only: Dagster's storage never holds item text
            "preview": Markdown(item_preview(result.items).to_markdown(index=False)),
        }

    def labeling(self, inputs: LabelingInputs) -> TextLabeling:
        assert inputs.encoder is not None, "text labelers need the encoder"
        reviewed = None if inputs.reviewed is None else self.data.with_text(inputs.reviewed)
        labelers = build_labelers(self.spec, encoder=inputs.encoder(), reviewed=reviewed)
        return TextLabeling(labelers, self.spec.class_names, rate_key="items_per_second")

    def consolidate(self, candidates: pd.DataFrame, batch: str) -> pd.DataFrame:
        return consolidate_classes(self.spec, candidates, batch, labeler_roles(self.spec))

    def auto_report(self, auto: pd.DataFrame, candidates: pd.DataFrame) -> Report:
        return class_auto_report(auto, candidates)

    def review_queue(
        self, auto: pd.DataFrame, items: pd.DataFrame, reviewed: pd.DataFrame, sizes: QueueSizes
    ) -> pd.DataFrame:
        """Calibration sample and least confident items; champion doubt first."""
        done = set(reviewed["item_id"])
        previous = self.data.queue_purposes()
        texts = items[["item_id", "text"]].drop_duplicates("item_id")
        queue = select_review_queue(
            auto,
            texts,
            already_reviewed=done,
            already_queued_calibration={i for i, p in previous.items() if p == "calibration"}
            - done,
            calibration_size=sizes.calibration_size,
            calibration_reviewed=int((reviewed["purpose"] == "calibration").sum()),
            uncertain_size=sizes.uncertain_size,
            seed=self.spec.review.seed,
        )
        return prioritize_queue(  # champion doubt first; re-checks of human labels
            queue,
            data=self.data,
            auto_labels=auto,
            texts=texts,
            reviewed=reviewed,
            uncertain_size=sizes.uncertain_size,
        )

    def export_queue(
        self, queue: pd.DataFrame, auto_labels: pd.DataFrame, raw_items: pd.DataFrame
    ) -> QueueExport:
        """CSV and Label Studio tasks, PII redacted (or refused) as the text leaves."""
        policy = self.spec.governance.pii
        outgoing, redactions = apply_pii_policy(queue, "text", policy, what="review queue")
        outgoing = with_source_ids(outgoing, raw_items)  # the user's own ids travel along
        folder = self.data.queue_dir
        csv_path = write_queue_csv(outgoing, folder / "review_queue.csv")
        versions = auto_labels["labeler_versions"].iloc[0] if len(auto_labels) else "{}"
        tasks_path, config_path = write_label_studio_tasks(
            outgoing,
            folder / "label_studio_tasks.json",
            self.spec.class_names,
            model_version=versions,
        )
        report: Report = {
            "pii_redactions": redactions.as_dict(),
            "pii_cells_redacted": redactions.texts,
            "csv": csv_path,
            "label_studio_tasks": tasks_path,
            "label_studio_config": config_path,
        }
        return QueueExport(stored=queue, report=report)

    def import_reviews(
        self, files: Sequence[str], *, reviewer: str | None, run_id: str
    ) -> ReviewImport:
        """All files with their ledger rows, or none; then every review's decision row."""
        imported = import_class_reviews(self.spec, self.data, files, run_id=run_id)
        ledger = Ledger.for_project(self.spec)
        recorded = record_reviews(ledger, self.data.reviews.all_reviews(), run_id=run_id)
        return ReviewImport(imported, {"ledger_rows_appended": recorded})

    def release(self, fmt: str, out_dir: Path | None, run_id: str) -> tuple[ExportResult, Report]:
        result = release_label_set(self.spec, fmt=fmt, out_dir=out_dir, run_id=run_id)  # type: ignore[arg-type]
        return result, {
            "pii_policy": self.spec.governance.pii,
            "redactions": result.redactions.as_dict(),
            "texts_redacted": result.redactions.texts,
        }


def import_class_reviews(
    spec: ProjectSpec, data: ProjectData, files: Sequence[str], *, run_id: str
) -> list[dict[str, object]]:
    """Class-label review files (CSV or Label Studio JSON) stored with their ledger rows,
    all or none (see :mod:`labelgate.governance.review_import`)."""
    results = import_review_files(
        data.reviews,
        Ledger.for_project(spec),
        [Path(f) for f in files],
        known_items=data.item_ids(),
        class_names=spec.class_names,
        purposes=data.queue_purposes(),
        run_id=run_id,
        reviewers=reviewer_resolver(spec),
    )
    return [
        {"file": f, "rows": r.rows, "changed": r.changed_labels}
        for f, r in zip(files, results, strict=True)
    ]
