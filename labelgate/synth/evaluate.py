"""Compare accepted labels with a corpus's ground truth (demo and benchmarks only).

Production never has the truth; the demo and benchmarks do, so they can show that the gate's
promise (accuracy of auto-accepted labels >= target) held on the items it let through.
"""

from dataclasses import dataclass

import pandas as pd

from labelgate.ids import text_item_id
from labelgate.text import normalize_text


def truth_by_item(truth: pd.DataFrame) -> pd.Series:
    """``true_label`` indexed by item id (content hash of the normalized ``text``)."""
    missing = {"text", "true_label"} - set(truth.columns)
    if missing:
        raise ValueError(f"truth table lacks column(s) {sorted(missing)}")
    ids = [text_item_id(normalize_text(str(text))) for text in truth["text"]]
    labels = pd.Series(truth["true_label"].astype(str).to_numpy(), index=ids, name="true_label")
    return labels[~labels.index.duplicated(keep="first")]


@dataclass(frozen=True)
class Realized:
    """How accepted labels fared against the truth."""

    items: int
    auto_accepted: int
    auto_correct: int
    human: int
    human_correct: int

    @property
    def automation_rate(self) -> float:
        return self.auto_accepted / self.items if self.items else 0.0

    @property
    def auto_accuracy(self) -> float | None:
        return self.auto_correct / self.auto_accepted if self.auto_accepted else None

    @property
    def human_accuracy(self) -> float | None:
        return self.human_correct / self.human if self.human else None


def realized(accepted: pd.DataFrame, truth: pd.Series, *, items: int) -> Realized:
    """Score ``accepted`` (``item_id``, ``label``, ``source``) against ``truth_by_item``."""
    unknown = set(accepted["item_id"]) - set(truth.index)
    if unknown:
        raise ValueError(
            f"{len(unknown)} accepted item(s) have no truth, e.g. {sorted(unknown)[:3]}"
        )
    correct = accepted["label"].to_numpy() == truth.loc[accepted["item_id"]].to_numpy()
    auto = (accepted["source"] == "auto").to_numpy()
    return Realized(
        items=items,
        auto_accepted=int(auto.sum()),
        auto_correct=int((correct & auto).sum()),
        human=int((~auto).sum()),
        human_correct=int((correct & ~auto).sum()),
    )
