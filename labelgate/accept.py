"""Accepted labels: every human decision, plus the auto-labels the gate lets through.

The gate is calibrated on the reviewed *random calibration sample* only; items picked for
review because the machine was unsure are not a random sample and would bias the estimate.
"""

import numpy as np
import pandas as pd

from labelgate.gate import GateResult, auto_accept_mask, choose_threshold
from labelgate.spec import GateSpec

ACCEPTED_COLUMNS = [
    "item_id",
    "label",
    "source",
    "confidence",
    "labeler_versions",
    "reviewer",
    "run_id",
]


def calibration_evidence(auto_labels: pd.DataFrame, reviewed: pd.DataFrame) -> pd.DataFrame:
    """Calibration-sample reviews joined to their (out-of-fold) auto-labels."""
    calibration = reviewed[reviewed["purpose"] == "calibration"][["item_id", "label"]]
    joined = calibration.merge(
        auto_labels[["item_id", "label", "confidence"]],
        on="item_id",
        suffixes=("_human", "_auto"),
    )
    joined["correct"] = joined["label_human"] == joined["label_auto"]
    return joined


def run_gate(auto_labels: pd.DataFrame, reviewed: pd.DataFrame, gate: GateSpec) -> GateResult:
    evidence = calibration_evidence(auto_labels, reviewed)
    return gate_on_evidence(evidence, gate, unreviewed_confidence(auto_labels, reviewed))


def unreviewed_confidence(auto_labels: pd.DataFrame, reviewed: pd.DataFrame) -> np.ndarray:
    """Confidences of the auto-labeled items nobody has reviewed (what the gate may accept)."""
    pending = auto_labels[~auto_labels["item_id"].isin(reviewed["item_id"])]
    return pending.drop_duplicates("item_id")["confidence"].to_numpy(dtype=float)


def gate_on_evidence(
    evidence: pd.DataFrame, gate: GateSpec, population_confidence: np.ndarray | None = None
) -> GateResult:
    """The project's gate over calibration evidence (columns ``confidence``, ``correct``);
    ``population_confidence`` (the unreviewed items) bounds and informs "reviews needed"."""
    return choose_threshold(
        evidence["confidence"].to_numpy(dtype=float),
        evidence["correct"].to_numpy(dtype=bool),
        target=gate.target_accuracy,
        confidence_level=gate.confidence,
        planning_accuracy=gate.planning_accuracy,
        population_confidence=population_confidence,
    )


def accepted_labels(
    auto_labels: pd.DataFrame, reviewed: pd.DataFrame, result: GateResult, run_id: str
) -> pd.DataFrame:
    human = reviewed.merge(
        auto_labels[["item_id", "labeler_versions"]], on="item_id", how="left"
    ).assign(source="human", confidence=1.0, run_id=run_id)
    pending = auto_labels[~auto_labels["item_id"].isin(reviewed["item_id"])]
    mask = auto_accept_mask(pending["confidence"].to_numpy(dtype=float), result)
    auto = pending[mask].assign(source="auto", reviewer=None, run_id=run_id)
    frame = pd.concat([human[ACCEPTED_COLUMNS], auto[ACCEPTED_COLUMNS]], ignore_index=True)
    return frame.astype({"confidence": "float64"})


def automation_rate(accepted: pd.DataFrame, n_items: int) -> float:
    """Share of all items whose label was accepted without a human looking at it."""
    return float((accepted["source"] == "auto").sum() / n_items) if n_items else 0.0
