"""The gate's statistics: Clopper–Pearson bounds, the pre-registered scans and running them.

Conventions: ``confidence`` is the label model's (out-of-fold) confidence of each reviewed
*random calibration* item, ``correct`` whether its label matched the human one; alpha is
``1 - confidence_level``. A *scan* is a fixed-sequence test over a grid of thresholds from
high to low confidence, starting at the first grid point that covers at least ``start``
items, stopping at its first failure. Which scans run, their alphas and their starts depend
only on the number of calibration items (:func:`scan_plan`); the grid depends only on the
confidences (:func:`threshold_grid`); the labels enter in :func:`run_scans` alone.
"""

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.special import betaincinv

START_FRACTION = 0.1  # the planned scan's first test covers at least this share of the sample
SMALL_SHARE = 0.2  # share of alpha the small-start scan keeps once the planned scan runs


@dataclass(frozen=True)
class ScanSpec:
    """One pre-registered fixed-sequence scan: its name, its share of alpha, its start."""

    name: str  # "small" (starts where n/n passes) or "planned" (sized for planning accuracy)
    alpha: float
    start: int  # calibration items its first test covers at least


@dataclass(frozen=True)
class Grid:
    """Candidate thresholds, high to low, built from confidences only."""

    thresholds: np.ndarray  # float, strictly decreasing
    n: np.ndarray  # int, calibration items with confidence >= threshold (increasing)
    order: np.ndarray  # argsort of the confidences, high to low


@dataclass(frozen=True)
class ScanRun:
    """What one scan tested and where it stopped."""

    spec: ScanSpec
    tested: np.ndarray  # grid indices tested, in order
    lower_bounds: np.ndarray  # bound of each tested index
    best: int | None  # grid index of the last pass (None: the first test failed / none run)


def clopper_pearson_lower(successes: int, n: int, alpha: float) -> float:
    """One-sided (1 - alpha) Clopper–Pearson lower bound on a binomial proportion."""
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0 or successes == 0:
        return 0.0
    return float(betaincinv(successes, n - successes + 1, alpha))  # = beta.ppf


def clopper_pearson_lower_many(successes: np.ndarray, n: np.ndarray, alpha: float) -> np.ndarray:
    """:func:`clopper_pearson_lower` over arrays (0 where there are no successes)."""
    k = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    safe_k = np.where(k > 0, k, 1.0)
    return np.where(k > 0, betaincinv(safe_k, m - k + 1, alpha), 0.0)


def min_sample_for_target(target: float, alpha: float) -> int:
    """Smallest n for which n/n successes has a Clopper–Pearson lower bound >= target."""
    return min_sample_for_accuracy(1.0, target, alpha)


@cache
def min_sample_for_accuracy(accuracy: float, target: float, alpha: float) -> int:
    """Smallest n at which an observed ``accuracy`` (floor(n * accuracy) of n correct) has a
    Clopper–Pearson lower bound >= target (cached: the scan plan asks for it on every run)."""
    check_open_unit("target", target)
    check_open_unit("alpha", alpha)
    if not target < accuracy <= 1:
        raise ValueError(f"accuracy must be in (target, 1], got {accuracy} for target {target}")
    if accuracy == 1.0:
        # The lower bound for n/n is alpha ** (1 / n); guard the closed form against rounding.
        n = max(1, math.ceil(math.log(alpha) / math.log(target)) - 1)
    else:  # normal approximation as a starting point, then walk up to the exact answer
        z = _z(alpha)
        n = max(1, math.floor((z / (accuracy - target)) ** 2 * target * (1 - target) * 0.5))
    while clopper_pearson_lower(math.floor(n * accuracy + 1e-9), n, alpha) < target:
        n += 1
    return n


def default_planning_accuracy(target: float) -> float:
    """Half-way between the target and perfection: the accuracy the planned scan sizes for."""
    return (1.0 + target) / 2.0


def scan_plan(
    n_calibration: int,
    *,
    target: float,
    confidence_level: float,
    planning_accuracy: float | None = None,
) -> tuple[ScanSpec, ...]:
    """The scans run on ``n_calibration`` items: a function of the sample size only.

    The planned scan's first test covers ``m`` items, the size at which ``planning_accuracy``
    would pass at its share of alpha (``1 - SMALL_SHARE``), or a tenth of the sample if more.
    Until the sample holds ``2 * m`` items (so that first test covers at most half of it),
    one scan gets all of alpha and starts where n/n first passes (59 items for 95% at 95%).
    From there on alpha is split (Bonferroni): ``SMALL_SHARE`` to that small-start scan (90
    items at alpha/5), the rest to the planned scan, so one reviewer slip among the most
    confident items cannot end every scan. With ``planning_accuracy`` so high that the planned
    start is no larger than the small one, the small-start scan alone runs.
    """
    check_open_unit("target", target)
    check_open_unit("confidence_level", confidence_level)
    alpha = 1.0 - confidence_level
    small_alpha, planned_alpha = SMALL_SHARE * alpha, (1.0 - SMALL_SHARE) * alpha
    planned_start = _planned_start(target, planned_alpha, planning_accuracy)
    small_start = min_sample_for_target(target, small_alpha)
    if n_calibration < 2 * planned_start or planned_start <= small_start:
        return (ScanSpec("small", alpha, min_sample_for_target(target, alpha)),)
    planned = max(planned_start, math.ceil(START_FRACTION * n_calibration))
    return (
        ScanSpec("small", small_alpha, small_start),
        ScanSpec("planned", planned_alpha, planned),
    )


def two_scan_size(
    *, target: float, confidence_level: float, planning_accuracy: float | None = None
) -> int | None:
    """Smallest calibration sample at which :func:`scan_plan` adds the planned scan (538 for
    95% at 95%); None when the planning accuracy makes it no different from the small one."""
    alpha = 1.0 - confidence_level
    planned_start = _planned_start(target, (1.0 - SMALL_SHARE) * alpha, planning_accuracy)
    if planned_start <= min_sample_for_target(target, SMALL_SHARE * alpha):
        return None
    return 2 * planned_start


def _planned_start(target: float, alpha: float, planning_accuracy: float | None) -> int:
    plan = default_planning_accuracy(target) if planning_accuracy is None else planning_accuracy
    return min_sample_for_accuracy(plan, target, alpha)


def threshold_grid(
    confidence: np.ndarray, step_fraction: float, anchors: tuple[int, ...] = ()
) -> Grid:
    """Thresholds at the confidence of every ``step``-th item (high to low) plus the lowest;
    ties are accepted together, so ``n`` counts every item at or above a threshold.

    ``anchors`` (the scans' starts, from the sample size alone) add the thresholds at the
    ``start``-th most confident item, so a scan's first test covers exactly its start rather
    than the next step: with 4 items a step, a scan starting at 59 would otherwise first test
    60 items and one wrong 60th item would end it although 59/59 passes."""
    conf = np.asarray(confidence, dtype=float)
    n_cal = len(conf)
    order = np.argsort(-conf, kind="stable")
    if n_cal == 0:
        return Grid(np.array([], dtype=float), np.array([], dtype=int), order)
    sorted_conf = conf[order]
    step = max(1, round(step_fraction * n_cal))
    idx = np.arange(step - 1, n_cal, step)
    extra = [a - 1 for a in anchors if 0 < a <= n_cal]
    idx = np.union1d(idx, np.asarray([*extra, n_cal - 1], dtype=int))
    thresholds = np.unique(sorted_conf[idx])[::-1]  # distinct, high to low
    n_at = n_cal - np.searchsorted(np.sort(conf), thresholds, side="left")
    return Grid(thresholds, n_at.astype(int), order)


def run_scans(
    grid: Grid, correct: np.ndarray, plan: tuple[ScanSpec, ...], target: float
) -> list[ScanRun]:
    """Run every planned scan on the grid; the labels enter here only."""
    ok = np.asarray(correct, dtype=bool)[grid.order]
    cum_ok = np.concatenate([[0], np.cumsum(ok)])
    k = cum_ok[grid.n] if len(grid.n) else np.array([], dtype=int)
    runs = []
    for spec in plan:
        candidates = np.flatnonzero(grid.n >= spec.start)
        bounds = clopper_pearson_lower_many(k[candidates], grid.n[candidates], spec.alpha)
        failed = np.flatnonzero(bounds < target)
        stop = int(failed[0]) if len(failed) else len(candidates)
        tested = candidates[: stop + 1]
        best = int(candidates[stop - 1]) if stop > 0 else None
        runs.append(ScanRun(spec, tested, bounds[: len(tested)], best))
    return runs


def lowest_passing(runs: list[ScanRun]) -> ScanRun | None:
    """The scan whose last pass is the lowest threshold (largest grid index); None: none."""
    passing = [run for run in runs if run.best is not None]
    return max(passing, key=lambda run: run.best or 0) if passing else None


def check_open_unit(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value}")


def _z(alpha: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(1 - alpha))
