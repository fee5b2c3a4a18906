"""What every labeler produces, and helpers to read it."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass
class LabelerOutput:
    """Probabilities for N items over K classes; NaN rows abstain.

    ``out_of_fold`` marks rows predicted by a model that did not train on that item's review.
    """

    name: str
    version: str
    probs: np.ndarray
    out_of_fold: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        if self.out_of_fold.size == 0:
            self.out_of_fold = np.zeros(len(self.probs), dtype=bool)


class Labeler(Protocol):
    name: str
    version: str
    soft: bool  # True: calibrated-ish probabilities; False: votes whose reliability is learned

    def predict(self, item_ids: Sequence[str], texts: Sequence[str]) -> LabelerOutput: ...


def abstain_rows(probs: np.ndarray) -> np.ndarray:
    return np.isnan(probs).any(axis=1)


def rows_to_labels(probs: np.ndarray, class_names: list[str]) -> list[str | None]:
    """Arg-max class name per row, None where the labeler abstained."""
    abstained = abstain_rows(probs)
    best = np.argmax(np.where(abstained[:, None], 0.0, probs), axis=1)
    return [None if a else class_names[b] for a, b in zip(abstained, best, strict=True)]
