"""The auto-acceptance gate: the lowest confidence threshold whose accuracy is proven.

Evidence is the reviewed *uniform random calibration sample* only: per item, the label
model's (out-of-fold) confidence and whether its predicted label matched the human one.

Method ("Learn then Test", fixed-sequence testing): a grid of candidate thresholds is built
from the calibration confidences alone (never the labels), each step adding about
``step_fraction`` of the sample. The scan begins at the first grid point with enough items
that a planned accuracy could pass (fixed from the confidences alone, see ``choose_threshold``)
and goes from high to low thresholds, testing H0: accuracy(conf >= t) < target with
the one-sided Clopper–Pearson lower bound at level alpha = 1 - confidence_level. The scan stops
at the first failure and the answer is the last threshold that passed. Testing in a fixed order
and stopping at the first failure controls the family-wise error at alpha without correction.
(Grid points are calibration order statistics rather than fixed numbers, so the guarantee is
approximate; tests/test_gate.py checks the realized error rate by simulation.)
"""

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy.special import betaincinv

_MAX_REVIEWS = 10_000_000
START_FRACTION = 0.1  # the first test covers at least this share of the calibration sample


def clopper_pearson_lower(successes: int, n: int, alpha: float) -> float:
    """One-sided (1 - alpha) Clopper–Pearson lower bound on a binomial proportion."""
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0 or successes == 0:
        return 0.0
    return float(betaincinv(successes, n - successes + 1, alpha))  # = beta.ppf


def min_sample_for_target(target: float, alpha: float) -> int:
    """Smallest n for which n/n successes has a Clopper–Pearson lower bound >= target."""
    return min_sample_for_accuracy(1.0, target, alpha)


def min_sample_for_accuracy(accuracy: float, target: float, alpha: float) -> int:
    """Smallest n at which an observed ``accuracy`` (floor(n * accuracy) of n correct) has a
    Clopper–Pearson lower bound >= target."""
    _check_open_unit("target", target)
    _check_open_unit("alpha", alpha)
    if not target < accuracy <= 1:
        raise ValueError(f"accuracy must be in (target, 1], got {accuracy} for target {target}")
    if accuracy == 1.0:
        # The lower bound for n/n is alpha ** (1 / n); guard the closed form against rounding.
        n = max(1, math.ceil(math.log(alpha) / math.log(target)) - 1)
    else:  # normal approximation as a starting point, then walk up to the exact answer
        z = 1.6448536269514722 if abs(alpha - 0.05) < 1e-12 else _z(alpha)
        n = max(1, math.floor((z / (accuracy - target)) ** 2 * target * (1 - target) * 0.5))
    while clopper_pearson_lower(math.floor(n * accuracy + 1e-9), n, alpha) < target:
        n += 1
    return n


def default_planning_accuracy(target: float) -> float:
    """Half-way between the target and perfection: the accuracy the first test plans for."""
    return (1.0 + target) / 2.0


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
    scan_start: int = 0  # calibration items the first test covers at least
    scan: list[dict[str, Any]] = field(default_factory=list)

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
) -> GateResult:
    """Lowest threshold whose accepted-item accuracy is >= target with the given confidence.

    The scan starts at the most confident grid point holding at least ``first_test_size``
    calibration items: the larger of ``n_start``, the sample size at which an observed
    ``planning_accuracy`` (default: half-way between target and 1) would pass, and a tenth
    of the sample. That choice uses neither the labels nor the outcome of any test, so the
    sequence stays fixed in advance; it keeps the first test from being a coin toss on a
    handful of items (one reviewer slip there would end the scan before it began), and its
    power grows with the number of reviews.
    """
    conf, ok = _validate(confidence, correct, target, confidence_level, step_fraction)
    alpha = 1.0 - confidence_level
    plan = default_planning_accuracy(target) if planning_accuracy is None else planning_accuracy
    n_cal = len(conf)
    n_start = min_sample_for_accuracy(plan, target, alpha)
    n_first = first_test_size(n_cal, n_start)
    base = {
        "n_calibration": n_cal,
        "target": target,
        "confidence_level": confidence_level,
        "scan_start": n_first,
    }
    goal = f"{target:.1%} accuracy at {confidence_level:.0%} confidence"

    # Sort by confidence, high to low; n_at[i] counts items with conf >= sorted_conf[i] (ties).
    order = np.argsort(-conf, kind="stable")
    sorted_conf, sorted_ok = conf[order], ok[order]
    n_at = n_cal - np.searchsorted(sorted_conf[::-1], sorted_conf, side="left")
    cum_ok = np.concatenate([[0], np.cumsum(sorted_ok)])

    # Grid from confidences only: the confidence of every step-th item, plus the lowest.
    step = max(1, round(step_fraction * n_cal))
    idx = list(range(step - 1, n_cal, step))
    if n_cal and (not idx or idx[-1] != n_cal - 1):
        idx.append(n_cal - 1)
    grid: list[tuple[float, int, int]] = []  # (threshold, n, k)
    for i in idx:
        t = float(sorted_conf[i])
        if not grid or grid[-1][0] != t:
            n = int(n_at[i])
            grid.append((t, n, int(cum_ok[n])))

    scan: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    for t, n, k in grid:
        if n < n_first:
            continue
        lb = clopper_pearson_lower(k, n, alpha)
        row = {"threshold": t, "n": n, "k": k, "accuracy": k / n, "lower_bound": lb}
        row["passed"] = lb >= target
        scan.append(row)
        if not row["passed"]:
            break
        best = row

    if best is not None:
        return GateResult(
            threshold=best["threshold"],
            n_accepted=best["n"],
            accuracy=best["accuracy"],
            lower_bound=best["lower_bound"],
            reviews_needed=0,
            reason=(
                f"Auto-accepting confidence >= {best['threshold']:.4f}: {best['k']}/{best['n']} "
                f"calibration items correct ({best['accuracy']:.1%}), lower bound "
                f"{best['lower_bound']:.1%} meets {goal}."
            ),
            scan=scan,
            **base,
        )

    if n_cal < n_start:
        why = (
            f"Only {n_cal} calibration reviews: the first test needs at least {n_start} "
            f"(where {plan:.1%} observed accuracy would show {goal})."
        )
        estimate = _reviews_needed(grid, n_cal, target, alpha, n_start)
        needed = max(n_start - n_cal, estimate or 0)
        why += f" About {needed} more random calibration reviews are needed."
        return GateResult(
            None, n_cal, 0, None, None, target, confidence_level, needed, why, n_start, scan
        )
    first = scan[0]
    why = (
        f"No threshold passed: the {first['n']} most confident calibration items are "
        f"{first['accuracy']:.1%} correct, lower bound {first['lower_bound']:.1%}, short of "
        f"{goal}."
    )
    estimate = _reviews_needed(grid, n_cal, target, alpha, n_start)
    if estimate is None:
        needed = n_start
        why += (
            " The most confident calibration items are not more accurate than the target, "
            "so more reviews alone may not help; improve the labelers."
        )
    else:
        needed = estimate
        why += f" About {needed} more random calibration reviews may be needed."
    return GateResult(
        None, n_cal, 0, None, None, target, confidence_level, needed, why, n_start, scan
    )


def auto_accept_mask(confidence: np.ndarray, result: GateResult) -> np.ndarray:
    """Boolean mask of the items the gate auto-accepts (confidence >= threshold)."""
    conf = np.asarray(confidence, dtype=float)
    if result.threshold is None:
        return np.zeros(conf.shape, dtype=bool)
    return conf >= result.threshold


def _reviews_needed(
    grid: list[tuple[float, int, int]],
    n_cal: int,
    target: float,
    alpha: float,
    n_start: int,
) -> int | None:
    """Estimated extra random reviews until the first test of the scan can pass.

    With N reviews the first test covers the top ``first_test_size(N)`` items. A most
    confident grid subset holding a share f = n / n_cal of the sample with observed accuracy
    p > target passes once the first test fits inside it (size <= f * N) and is large enough
    for p to pass (size >= m(p)). The cheapest such subset wins; None when none has p > target.
    """
    best: int | None = None
    for _, n, k in grid:
        p = k / n
        if p <= target or n_cal == 0:
            continue
        m = _sample_for_accuracy(p, n, target, alpha)
        share = n / n_cal
        if m > n_start and share < START_FRACTION:
            continue  # its first test would outgrow it before it is big enough
        total = math.ceil(n_start / share)
        if m > n_start:
            total = max(total, math.ceil(m / START_FRACTION))
        extra = max(1, total - n_cal)
        best = extra if best is None else min(best, extra)
    return best


def first_test_size(n_calibration: int, n_start: int) -> int:
    """Calibration items the first test covers at least: grows with the sample."""
    return max(n_start, math.ceil(START_FRACTION * n_calibration))


def _sample_for_accuracy(p: float, n: int, target: float, alpha: float) -> int:
    """About the smallest m > n where floor(m * p) successes out of m reach the target bound."""

    def passes(m: int) -> bool:
        return clopper_pearson_lower(math.floor(m * p + 1e-9), m, alpha) >= target

    lo, hi = n, 2 * n  # lo fails (or is the current size)
    while not passes(hi):
        if hi >= _MAX_REVIEWS:
            return _MAX_REVIEWS
        lo, hi = hi, 2 * hi
    while hi - lo > 1:  # bisection; the floor makes the bound a slight sawtooth in m
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if passes(mid) else (mid, hi)
    return hi


def _validate(
    confidence: np.ndarray,
    correct: np.ndarray,
    target: float,
    confidence_level: float,
    step_fraction: float,
) -> tuple[np.ndarray, np.ndarray]:
    _check_open_unit("target", target)
    _check_open_unit("confidence_level", confidence_level)
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


def _z(alpha: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(1 - alpha))


def _check_open_unit(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value}")


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
