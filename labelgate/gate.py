"""The auto-acceptance gate: the lowest confidence threshold whose accuracy is proven.

Evidence is the reviewed *uniform random calibration sample* only: per item, the label
model's (out-of-fold) confidence and whether its predicted label matched the human one.

Method ("Learn then Test", fixed-sequence testing): a grid of candidate thresholds is built
from the calibration confidences alone (never the labels), each step adding about
``step_fraction`` of the sample. Thresholds where even a perfect score could not pass are
skipped; the rest are scanned from high to low, testing H0: accuracy(conf >= t) < target with
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


def clopper_pearson_lower(successes: int, n: int, alpha: float) -> float:
    """One-sided (1 - alpha) Clopper–Pearson lower bound on a binomial proportion."""
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0 or successes == 0:
        return 0.0
    return float(betaincinv(successes, n - successes + 1, alpha))  # = beta.ppf


def min_sample_for_target(target: float, alpha: float) -> int:
    """Smallest n for which n/n successes has a Clopper–Pearson lower bound >= target."""
    _check_open_unit("target", target)
    _check_open_unit("alpha", alpha)
    # The lower bound for n/n is alpha ** (1 / n); guard the closed form against rounding.
    n = max(1, math.ceil(math.log(alpha) / math.log(target)) - 1)
    while clopper_pearson_lower(n, n, alpha) < target:
        n += 1
    return n


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
    step_fraction: float = 0.01,
) -> GateResult:
    """Lowest threshold whose accepted-item accuracy is >= target with the given confidence."""
    conf, ok = _validate(confidence, correct, target, confidence_level, step_fraction)
    alpha = 1.0 - confidence_level
    n_cal = len(conf)
    n_min = min_sample_for_target(target, alpha)
    base = {"n_calibration": n_cal, "target": target, "confidence_level": confidence_level}
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
        if n < n_min:
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

    n_first = scan[0]["n"] if scan else n_cal  # the binding first test, or all we have
    needed = _reviews_needed(grid, n_cal, n_first, target, alpha)
    if n_cal < n_min:
        why = (
            f"Only {n_cal} calibration reviews: at least {n_min} are needed before even a "
            f"perfect score can show {goal}."
        )
    else:
        first = scan[0]
        why = (
            f"No threshold passed: the {first['n']} most confident calibration items are "
            f"{first['accuracy']:.1%} correct, lower bound {first['lower_bound']:.1%}, short of "
            f"{goal}."
        )
    if needed is None:
        needed = n_min
        if n_cal:
            why += (
                " The most confident calibration items are not more accurate than the target, "
                "so more reviews alone may not help; consider improving the labelers."
            )
    else:
        why += f" About {needed} more random calibration reviews may be needed."
    return GateResult(
        threshold=None,
        n_accepted=0,
        accuracy=None,
        lower_bound=None,
        reviews_needed=needed,
        reason=why,
        scan=scan,
        **base,
    )


def auto_accept_mask(confidence: np.ndarray, result: GateResult) -> np.ndarray:
    """Boolean mask of the items the gate auto-accepts (confidence >= threshold)."""
    conf = np.asarray(confidence, dtype=float)
    if result.threshold is None:
        return np.zeros(conf.shape, dtype=bool)
    return conf >= result.threshold


def _reviews_needed(
    grid: list[tuple[float, int, int]], n_cal: int, n_first: int, target: float, alpha: float
) -> int | None:
    """Estimated extra random reviews until the first test of the scan can pass.

    Candidates are the most confident grid subsets (n <= n_first items, those the first test
    would cover as the sample grows). A subset of n of the N items with observed accuracy
    p > target needs m > n items with floor(m * p) successes to reach the target bound; as
    reviews are drawn uniformly, that takes about m * N / n reviews in all. The cheapest
    candidate wins; None when no candidate's observed accuracy exceeds the target.
    """
    best: int | None = None
    for _, n, k in grid:
        if n > n_first or k / n <= target:
            continue
        m = _sample_for_accuracy(k / n, n, target, alpha)
        extra = max(1, math.ceil(m * n_cal / n) - n_cal)
        best = extra if best is None else min(best, extra)
    return best


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
