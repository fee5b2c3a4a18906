"""The statistical gate as an asset check on ``accepted_labels``: pass when a threshold was
proven (auto-labels above it meet the target accuracy at the configured confidence), warn
when nothing could be auto-accepted, with the evidence a steward needs to judge it."""

from typing import Any

import dagster as dg

from assets.common import ProjectAssets, present
from labelgate.project import ACCEPTED_LABELS

GATE_CHECK = "gate"


def gate_check_result(gate: dict[str, Any]) -> dg.AssetCheckResult:
    """Pass/warn and the evidence of one gate decision (``GateResult.to_metadata()``)."""
    threshold = gate.get("threshold")
    n = int(gate.get("n_accepted") or 0)
    accuracy = gate.get("accuracy")
    k = round(accuracy * n) if accuracy is not None else None
    target, confidence = gate.get("target"), gate.get("confidence_level")
    lower = gate.get("lower_bound")
    needed = int(gate.get("reviews_needed") or 0)
    if threshold is not None:
        description = (
            f"auto-accepting at confidence >= {threshold:.4f}: {k} of {n} calibration reviews "
            f"above it correct, lower bound {lower:.4f} >= target {target} at "
            f"{confidence:.0%} confidence"
        )
    else:
        description = f"nothing auto-accepted: {gate.get('reason', '')}".rstrip(": ")
        if needed:
            description += f" (about {needed} more calibration reviews needed)"
    return dg.AssetCheckResult(
        passed=threshold is not None,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "target_accuracy": target,
            "confidence_level": confidence,
            "n_calibration": int(gate.get("n_calibration") or 0),
            "n": n,
            **present(threshold=threshold, k=k, lower_bound=lower, accuracy=accuracy),
            "reviews_needed": needed,
            "reason": str(gate.get("reason", "")),
        },
    )


def build_gate_check(project: ProjectAssets) -> dg.AssetChecksDefinition:
    key = project.key(ACCEPTED_LABELS)

    @dg.asset_check(
        asset=key,
        name=GATE_CHECK,
        description="The statistical gate: the lowest confidence threshold whose one-sided "
        "Clopper-Pearson lower bound on the random calibration reviews meets the target "
        "accuracy. Warns when too few reviews prove any threshold (nothing auto-accepted).",
    )
    def gate(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        event = context.instance.get_latest_materialization_event(key)
        materialization = event.asset_materialization if event is not None else None
        if materialization is None or "gate" not in materialization.metadata:
            return dg.AssetCheckResult(
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                description="accepted_labels has no gate decision recorded yet",
            )
        return gate_check_result(dict(materialization.metadata["gate"].value))  # type: ignore[arg-type]

    return gate
