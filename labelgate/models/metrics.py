"""Classification metrics of a model on an evaluation split (K classes in project order)."""

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support


@dataclass(frozen=True)
class Metrics:
    n: int
    accuracy: float
    macro_f1: float
    precision: dict[str, float]
    recall: dict[str, float]
    f1: dict[str, float]
    support: dict[str, int]
    confusion: list[list[int]]  # rows: true class, columns: predicted class
    classes: list[str]

    def score(self, metric: str) -> float:
        if metric not in ("accuracy", "macro_f1"):
            raise ValueError(f"unknown metric {metric!r}; expected 'accuracy' or 'macro_f1'")
        return float(getattr(self, metric))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Metrics":
        return cls(**data)


def classification_metrics(
    true: Sequence[str], predicted: Sequence[str], class_names: list[str]
) -> Metrics:
    """Accuracy, macro-F1 over the classes present in ``true``, per-class P/R/F1, confusion.

    Macro-F1 averages over classes that occur in the split, so a class absent from the
    evaluation items neither helps nor hurts a model.
    """
    if len(true) != len(predicted):
        raise ValueError(f"{len(true)} true labels but {len(predicted)} predictions")
    if not len(true):
        raise ValueError("cannot score a model on an empty evaluation split")
    unknown = sorted((set(true) | set(predicted)) - set(class_names))
    if unknown:
        raise ValueError(f"labels {unknown} are not project classes {class_names}")
    y, p = np.asarray(true, dtype=object), np.asarray(predicted, dtype=object)
    precision, recall, f1, support = precision_recall_fscore_support(
        y, p, labels=class_names, zero_division=0
    )
    present = [i for i, c in enumerate(class_names) if (y == c).any()]
    return Metrics(
        n=len(y),
        accuracy=float((y == p).mean()),
        macro_f1=float(np.mean(f1[present])),
        precision={c: round(float(v), 6) for c, v in zip(class_names, precision, strict=True)},
        recall={c: round(float(v), 6) for c, v in zip(class_names, recall, strict=True)},
        f1={c: round(float(v), 6) for c, v in zip(class_names, f1, strict=True)},
        support={c: int(v) for c, v in zip(class_names, support, strict=True)},
        confusion=confusion_matrix(y, p, labels=class_names).tolist(),
        classes=list(class_names),
    )
