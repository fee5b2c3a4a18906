"""The auto-acceptance gate: the lowest confidence threshold whose accuracy is proven.

Evidence is the reviewed *uniform random calibration sample* only: per item, the label
model's (out-of-fold) confidence and whether its predicted label matched the human one.

Method ("Learn then Test", fixed-sequence testing, Bonferroni over pre-registered scans): a
grid of candidate thresholds is built from the calibration confidences alone (never the
labels), each step adding about ``step_fraction`` of the sample. One or two scans are
planned from the sample size alone (:func:`labelgate.gate_scan.scan_plan`): a scan that starts
where n/n correct first passes, and, once the sample is large enough, a second one that starts
at a planned size, each with its share of alpha = 1 - confidence_level. Each scan goes from
high to low thresholds testing H0: accuracy(conf >= t) < target with the one-sided
Clopper–Pearson bound at its alpha, stops at its first failure and keeps its last pass. The
answer is the lowest threshold any scan passed. A wrong acceptance needs a false pass in some
scan; each scan's chance of one is at most its alpha (fixed-sequence testing), so the total is
at most alpha. (Grid points are calibration order statistics rather than fixed numbers, so the
guarantee is approximate; tests/test_gate_honesty.py checks the realized error rate.)
"""

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from labelgate.gate_power import reviews_needed as forecast_reviews_needed
from labelgate.gate_scan import (
    START_FRACTION,
    Grid,
    ScanRun,
    ScanSpec,
    check_open_unit,
    clopper_pearson_lower,
    default_planning_accuracy,
    lowest_passing,
    min_sample_for_accuracy,
    min_sample_for_target,
    run_scans,
    scan_plan,
    threshold_grid,
)

__all__ = [
    "START_FRACTION",
    "GateResult",
    "auto_accept_mask",
    "choose_threshold",
    "clopper_pearson_lower",
    "default_planning_accuracy",
    "min_sample_for_accuracy",
    "min_sample_for_target",
    "scan_plan",
]


@dataclass(frozen=True)
class GateResult:
    """The gate's decision and the evidence behind it."""

    threshold: float | None  # None: accept nothing
    n_calibration: int
    n_accepted: int  # calibration items at or above the threshold
    accuracy: float | None  # observed accuracy of those
    lower_bound: float | None
    target: float
    confidence_level: float
    reviews_needed: int  # 0 when something is accepted
    reason: str
    scan_start: int = 0  # calibration items the deciding scan's first test covers at least
    scan: list[dict[str, Any]] = field(default_factory=list)  # every test, in order
    # One summary per pre-registered scan: name, alpha, start, tests, passed, threshold.
    scans: list[dict[str, Any]] = field(default_factory=list)

    def to_metadata(self) -> dict[str, Any]:
        """JSON-safe dict of the result."""
        return _json_safe(asdict(self))


def choose_threshold(
    confidence: np.ndarray,
    correct: np.ndarray,
    *,
    target: float,
    confidence_level: float,
    planning_accuracy: float | None = None,
    step_fraction: float = 0.01,
    population_confidence: np.ndarray | None = None,
    estimate_reviews: bool = True,
) -> GateResult:
    """Lowest threshold whose accepted-item accuracy is >= target with the given confidence.

    The scans and their starts come from :func:`scan_plan` (sample size only), the grid from
    the confidences only, so the tested sequence is fixed before any label is looked at.
    When nothing passes, ``reviews_needed`` is forecast from the evidence
    (:func:`labelgate.gate_power.reviews_needed`) over ``population_confidence``, the
    confidences of the items nobody has reviewed (default: the calibration confidences), and
    never exceeds their number; ``estimate_reviews=False`` skips that forecast (simulations).
    """
    conf, ok = _validate(confidence, correct, target, confidence_level, step_fraction)
    if planning_accuracy is not None and not target < planning_accuracy <= 1:
        raise ValueError(
            f"planning accuracy must be in (target, 1], got {planning_accuracy} for target {target}"
        )
    n_cal = len(conf)
    plan = scan_plan(
        n_cal, target=target, confidence_level=confidence_level, planning_accuracy=planning_accuracy
    )
    grid = threshold_grid(conf, step_fraction, tuple(spec.start for spec in plan))
    runs = run_scans(grid, ok, plan, target)
    rows = [row for run in runs for row in _rows(run, grid, ok, target)]
    summaries = [_summary(run, grid) for run in runs]
    goal = f"{target:.1%} accuracy at {confidence_level:.0%} confidence"
    base = {
        "n_calibration": n_cal,
        "target": target,
        "confidence_level": confidence_level,
        "scan": rows,
        "scans": summaries,
    }

    winner = lowest_passing(runs)
    if winner is not None and winner.best is not None:
        n = int(grid.n[winner.best])
        k = int(np.cumsum(ok[grid.order])[n - 1])
        bound = float(winner.lower_bounds[list(winner.tested).index(winner.best)])
        threshold = float(grid.thresholds[winner.best])
        return GateResult(
            threshold=threshold,
            n_accepted=n,
            accuracy=k / n,
            lower_bound=bound,
            reviews_needed=0,
            reason=(
                f"Auto-accepting confidence >= {threshold:.4f}: {k}/{n} calibration items "
                f"correct ({k / n:.1%}), lower bound {bound:.1%} at alpha "
                f"{winner.spec.alpha:.3g} ({winner.spec.name}-start scan) meets {goal}."
            ),
            scan_start=winner.spec.start,
            **base,
        )

    first = min(plan, key=lambda spec: spec.start)
    floor = max(first.start - n_cal, 0)
    if n_cal < first.start:
        why = (
            f"Only {n_cal} calibration reviews: the first test needs at least {first.start} "
            f"(where {first.start}/{first.start} correct would show {goal})."
        )
    else:
        tested = next(row for row in rows if row["sequence"] == first.name)
        why = (
            f"No threshold passed: the {tested['n']} most confident calibration items are "
            f"{tested['accuracy']:.1%} correct, lower bound {tested['lower_bound']:.1%}, "
            f"short of {goal}."
        )
    needed, why = _needed(
        conf, ok, floor, why, population_confidence, estimate_reviews,
        target=target, confidence_level=confidence_level, planning_accuracy=planning_accuracy,
        step_fraction=step_fraction,
    )  # fmt: skip
    return GateResult(
        threshold=None,
        n_accepted=0,
        accuracy=None,
        lower_bound=None,
        reviews_needed=needed,
        reason=why,
        scan_start=first.start,
        **base,
    )


def auto_accept_mask(confidence: np.ndarray, result: GateResult) -> np.ndarray:
    """Boolean mask of the items the gate auto-accepts (confidence >= threshold)."""
    conf = np.asarray(confidence, dtype=float)
    if result.threshold is None:
        return np.zeros(conf.shape, dtype=bool)
    return conf >= result.threshold


def _needed(
    conf: np.ndarray,
    ok: np.ndarray,
    floor: int,
    why: str,
    population: np.ndarray | None,
    estimate: bool,
    **settings: Any,
) -> tuple[int, str]:
    """Reviews still needed (capped at the unreviewed items) and the reason, extended.

    Without ``population`` the calibration confidences stand for the unreviewed items and
    the estimate stops at ten times the sample (at least 1,000)."""
    if population is None:
        pop, left = conf, None
    else:
        pop = np.asarray(population, dtype=float).ravel()
        left = len(pop)
        floor = min(floor, left)
    if not estimate or len(conf) == 0 or len(pop) == 0:
        if floor:
            why += f" About {floor} more random calibration reviews are needed."
        return floor, why
    found = forecast_reviews_needed(
        conf,
        ok,
        population_confidence=pop,
        at_least=floor,
        items_left=max(10 * len(conf), 1_000) if left is None else left,
        **settings,
    )
    if found is None:
        remaining = f"all {left} remaining items" if left is not None else "many more items"
        why += (
            f" Even reviewing {remaining} is unlikely to pass: the most confident calibration "
            "items are not accurate enough, so more reviews alone may not help; improve the "
            "labelers."
        )
        return (left if left is not None else max(floor, 1)), why
    why += f" About {found} more random calibration reviews are needed (forecast)."
    return found, why


def _rows(run: ScanRun, grid: Grid, ok: np.ndarray, target: float) -> list[dict[str, Any]]:
    cum_ok = np.concatenate([[0], np.cumsum(ok[grid.order])])
    rows = []
    for index, bound in zip(run.tested, run.lower_bounds, strict=True):
        n = int(grid.n[index])
        k = int(cum_ok[n])
        rows.append(
            {
                "sequence": run.spec.name,
                "threshold": float(grid.thresholds[index]),
                "n": n,
                "k": k,
                "accuracy": k / n,
                "lower_bound": float(bound),
                "passed": bool(bound >= target),
            }
        )
    return rows


def _summary(run: ScanRun, grid: Grid) -> dict[str, Any]:
    spec: ScanSpec = run.spec
    return {
        "name": spec.name,
        "alpha": spec.alpha,
        "start": spec.start,
        "tests": len(run.tested),
        "passed": run.best is not None,
        "threshold": None if run.best is None else float(grid.thresholds[run.best]),
        "n_accepted": 0 if run.best is None else int(grid.n[run.best]),
    }


def _validate(
    confidence: np.ndarray,
    correct: np.ndarray,
    target: float,
    confidence_level: float,
    step_fraction: float,
) -> tuple[np.ndarray, np.ndarray]:
    check_open_unit("target", target)
    check_open_unit("confidence_level", confidence_level)
    if not 0 < step_fraction <= 1:
        raise ValueError(f"step_fraction must be in (0, 1], got {step_fraction}")
    conf = np.asarray(confidence, dtype=float).ravel()
    raw = np.asarray(correct).ravel()
    if len(conf) != len(raw):
        raise ValueError(f"confidence and correct differ in length: {len(conf)} != {len(raw)}")
    bad = ~((conf >= 0) & (conf <= 1))  # also catches NaN
    if bad.any():
        raise ValueError(
            f"confidence must be in [0, 1]; {int(bad.sum())} value(s) are not, "
            f"e.g. {conf[bad][0]!r} at position {int(np.flatnonzero(bad)[0])}"
        )
    if raw.dtype != bool and not np.isin(raw, [0, 1]).all():
        raise ValueError("correct must hold booleans (or 0/1)")
    return conf, raw.astype(bool)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
