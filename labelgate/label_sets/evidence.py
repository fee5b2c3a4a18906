"""Per-class accuracy of the auto-accepted labels, with two-sided Clopper–Pearson bounds.

Measured on the reviewed random calibration sample only, restricted to items at or above
the gate's threshold (the items the gate would accept), grouped by the predicted class.
"""

from typing import Any

import pandas as pd
from scipy.stats import beta

from labelgate.accept import calibration_evidence


def clopper_pearson_interval(successes: int, n: int, confidence: float) -> tuple[float, float]:
    """Two-sided Clopper–Pearson interval at ``confidence`` (0, 1 when n = 0)."""
    if n == 0:
        return 0.0, 1.0
    alpha = 1.0 - confidence
    lower = 0.0 if successes == 0 else float(beta.ppf(alpha / 2, successes, n - successes + 1))
    upper = 1.0 if successes == n else float(beta.ppf(1 - alpha / 2, successes + 1, n - successes))
    return lower, upper


def per_class_accuracy(
    auto_labels: pd.DataFrame,
    reviewed: pd.DataFrame,
    class_names: list[str],
    *,
    threshold: float | None,
    confidence: float,
) -> list[dict[str, Any]]:
    """One row per class: calibration items predicted as it (at or above ``threshold``;
    every calibration item when nothing is auto-accepted), how many were right, bounds."""
    evidence = calibration_evidence(auto_labels.drop_duplicates("item_id"), reviewed)
    if threshold is not None:
        evidence = evidence[evidence["confidence"] >= threshold]
    rows = []
    for name in class_names:
        group = evidence[evidence["label_auto"] == name]
        n, correct = len(group), int(group["correct"].sum())
        lower, upper = clopper_pearson_interval(correct, n, confidence)
        rows.append(
            {
                "class": name,
                "calibration_items": n,
                "correct": correct,
                "accuracy": round(correct / n, 4) if n else None,
                "lower": round(lower, 4),
                "upper": round(upper, 4),
            }
        )
    return rows
