"""The class-label steps text and image classification share: class-probability labelers,
the Dawid-Skene / product-of-experts label model, and the confidence-threshold gate."""

from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa

from labelgate.accept import accepted_labels, calibration_evidence, run_gate
from labelgate.aggregate import aggregate
from labelgate.candidates import CANDIDATE_SCHEMA, CandidateStats, label_stream, outputs_from_frame
from labelgate.governance.recording import candidate_rows
from labelgate.labelers.base import Labeler
from labelgate.ledger import LedgerRow
from labelgate.modalities.base import Acceptance, Report
from labelgate.modalities.report import class_distribution, present
from labelgate.spec import ProjectSpec


class ClassLabeling:
    """Labelers that give class probabilities per item (``CANDIDATE_SCHEMA`` rows).

    ``text_column`` is the raw_items column the labelers read (``path`` for images)."""

    schema: pa.Schema = CANDIDATE_SCHEMA

    def __init__(
        self,
        labelers: Sequence[Labeler],
        class_names: list[str],
        *,
        rate_key: str,
        text_column: str = "text",
    ) -> None:
        self.labelers = list(labelers)
        self.class_names = class_names
        self.rate_key = rate_key
        self.text_column = text_column
        self.stats = CandidateStats()

    def ledger_rows(self, path: Path, batch: str) -> Iterator[LedgerRow]:
        return candidate_rows(path, batch)

    def stream(self, chunks: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        texts = (c.rename(columns={self.text_column: "text"}) for c in chunks)
        for frame in label_stream(texts, self.labelers, self.class_names):
            self.stats.add(frame)
            yield frame

    def report(self, elapsed: float) -> Report:
        items = self.stats.items
        return {
            "items": items,
            self.rate_key: round(items / elapsed, 2) if elapsed else 0.0,
            "labeler_versions": {labeler.name: labeler.version for labeler in self.labelers},
            "coverage": self.stats.coverage(),
        }


def consolidate_classes(
    spec: ProjectSpec, candidates: pd.DataFrame, batch: str, soft: dict[str, bool]
) -> pd.DataFrame:
    """One label and probability per item from the label model (``soft``: labeler name ->
    probabilistic source)."""
    item_ids = list(dict.fromkeys(candidates["item_id"]))
    outputs = outputs_from_frame(candidates, item_ids, len(spec.class_names))
    frame = aggregate(item_ids, outputs, soft, spec.class_names, seed=spec.review.seed)
    frame.insert(1, "batch", batch)
    return frame


def class_auto_report(auto: pd.DataFrame, candidates: pd.DataFrame) -> Report:
    """Class distribution and how often every labeler agreed."""
    n_labelers = candidates["labeler"].nunique()
    n_sources = auto["agreeing_sources"].map(lambda s: len(s.split(",")) if s else 0)
    agree = float(n_sources.eq(n_labelers).mean()) if len(auto) else None
    return {
        **present(all_sources_agree=agree),
        "class_distribution": class_distribution(auto["label"]),
    }


class ClassLabelSteps:
    """The steps of a modality whose decision is one class per item."""

    spec: ProjectSpec

    def label_counts(self, labels: pd.DataFrame) -> pd.Series:
        return labels["label"]

    def accept(self, auto: pd.DataFrame, reviewed: pd.DataFrame, run_id: str) -> Acceptance:
        """The confidence-threshold gate: a label is correct when it equals the reviewer's."""
        result = run_gate(auto, reviewed, self.spec.gate)
        frame = accepted_labels(auto, reviewed, result, run_id)
        return Acceptance(
            result=result,
            accepted=frame,
            evidence=calibration_evidence(auto, reviewed),
            labels=frame["label"],
            report=present(estimated_accuracy=result.accuracy),
        )
