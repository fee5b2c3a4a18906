"""Forecasts for the gate: how likely it passes, and how much it accepts, after more reviews.

The model behind every forecast is the current evidence, and nothing beyond it. The
calibration sample is cut into equal-count confidence bins (about ``BIN_ITEMS`` items each);
each bin's accuracy is drawn from its Beta posterior (Jeffreys prior, so 20 of 20 correct is
believed about 97.6% accurate, not 100%), and each draw is made non-decreasing in confidence
(pool adjacent violators), which pools an unlucky bin with its neighbours. It never
extrapolates above the most confident bin, so a labeler whose best items fall short of the
target is reported as one that more reviews will not fix. A simulated future keeps the
reviews already made and adds ``m`` new random calibration items whose confidences are drawn
from the items not yet reviewed and whose correctness is drawn from their bin's accuracy;
the real gate (:mod:`labelgate.gate_scan`) then runs on
the combined sample. Over many such futures:

- the *pass probability* is the share in which some threshold passes;
- the *expected automation* is the mean share of all items whose confidence clears the
  simulated threshold among those left unreviewed (reviewed items are human labels, so
  automation can fall while the share of items with an accepted label rises);
- the *expected labeled* share adds every reviewed item to that.

Every forecast uses a fixed seed, so the same evidence always gives the same numbers. It
ignores what active learning adds to the labelers, so it is conservative for a labeler that
still learns from the reviews.
"""

from dataclasses import dataclass

import numpy as np

from labelgate.gate_scan import lowest_passing, run_scans, scan_plan, threshold_grid

BIN_ITEMS = 20  # calibration items per confidence bin of the accuracy model
MAX_BINS = 20
PRIOR = 0.5  # Jeffreys Beta(1/2, 1/2) prior on each bin's accuracy
PASS_PROBABILITY = 0.5  # "reviews needed": the fewest extra reviews with at least this chance
# Extra review counts tried for "reviews needed" (a ladder, so the estimate cannot jitter).
LADDER = (
    10, 20, 30, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1_000, 1_500, 2_000, 3_000,
    5_000, 7_500, 10_000, 15_000, 20_000, 30_000, 50_000, 75_000, 100_000,
)  # fmt: skip


@dataclass(frozen=True)
class PowerPoint:
    """The forecast after ``extra_reviews`` more random calibration reviews."""

    extra_reviews: int
    calibration_size: int  # reviews in the calibration sample then
    pass_probability: float  # chance that some threshold passes
    expected_automation: float  # expected share of all items auto-accepted
    expected_labeled: float  # expected share of all items with an accepted label (auto + human)


@dataclass(frozen=True)
class _Setting:
    confidence: np.ndarray
    correct: np.ndarray
    population: np.ndarray  # confidences of the items not reviewed yet
    n_items: int
    target: float
    confidence_level: float
    planning_accuracy: float | None
    step_fraction: float


def power_curve(
    confidence: np.ndarray,
    correct: np.ndarray,
    *,
    population_confidence: np.ndarray,
    n_items: int | None = None,
    target: float,
    confidence_level: float,
    planning_accuracy: float | None = None,
    extra_reviews: tuple[int, ...] = (100, 250, 500),
    step_fraction: float = 0.01,
    sims: int = 200,
    seed: int = 0,
) -> list[PowerPoint]:
    """Forecast for each count in ``extra_reviews`` (capped at the items not reviewed yet).

    ``population_confidence`` holds the confidences of the items nobody has reviewed;
    ``n_items`` (default: those plus the calibration sample) is what automation is a share of.
    """
    setting = _setting(
        confidence, correct, population_confidence, n_items, target, confidence_level,
        planning_accuracy, step_fraction,
    )  # fmt: skip
    left = len(setting.population)
    points = []
    for extra in sorted({min(int(e), left) for e in extra_reviews if e >= 0}):
        passed, automation = _simulate(setting, extra, sims, seed)
        points.append(
            PowerPoint(
                extra_reviews=extra,
                calibration_size=len(setting.confidence) + extra,
                pass_probability=float(passed.mean()),
                expected_automation=float(automation.mean()),
                expected_labeled=min(
                    1.0,
                    float(automation.mean())
                    + (setting.n_items - left + extra) / max(setting.n_items, 1),
                ),
            )
        )
    return points


def reviews_needed(
    confidence: np.ndarray,
    correct: np.ndarray,
    *,
    population_confidence: np.ndarray,
    target: float,
    confidence_level: float,
    planning_accuracy: float | None = None,
    at_least: int = 1,
    items_left: int | None = None,
    step_fraction: float = 0.01,
    sims: int = 100,
    seed: int = 0,
) -> int | None:
    """Fewest extra random calibration reviews (from ``LADDER``, at least ``at_least``, at
    most ``items_left``, default the number of unreviewed items) after which the gate passes
    with probability >= 1/2, found by bisection; None when even that many reviews are not
    expected to get there.
    With ``items_left`` above the population's size, new confidences are drawn with
    replacement (the population then stands for a distribution, not the items left)."""
    setting = _setting(
        confidence, correct, population_confidence, None, target, confidence_level,
        planning_accuracy, step_fraction,
    )  # fmt: skip
    left = len(setting.population) if items_left is None else items_left
    if left == 0 or len(setting.population) == 0:
        return None
    floor = max(1, at_least)
    candidates = sorted({min(floor, left), *(m for m in LADDER if floor < m < left), left})

    def passes(index: int) -> bool:
        passed, _ = _simulate(setting, candidates[index], sims, seed)
        return bool(passed.mean() >= PASS_PROBABILITY)

    if not passes(len(candidates) - 1):
        return None
    low, high = 0, len(candidates) - 1  # bisection: more reviews pass at least as often
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if passes(middle) else (middle + 1, high)
    return candidates[high]


def _setting(
    confidence: np.ndarray,
    correct: np.ndarray,
    population: np.ndarray,
    n_items: int | None,
    target: float,
    confidence_level: float,
    planning_accuracy: float | None,
    step_fraction: float,
) -> _Setting:
    conf = np.asarray(confidence, dtype=float).ravel()
    ok = np.asarray(correct, dtype=bool).ravel()
    pop = np.asarray(population, dtype=float).ravel()
    if len(conf) != len(ok):
        raise ValueError(f"confidence and correct differ in length: {len(conf)} != {len(ok)}")
    total = len(pop) + len(conf) if n_items is None else int(n_items)
    if total < len(pop):
        raise ValueError(f"n_items ({total}) is below the unreviewed items ({len(pop)})")
    return _Setting(
        conf, ok, pop, total, target, confidence_level, planning_accuracy, step_fraction
    )


def _curve_draws(
    setting: _Setting, sims: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Inner bin edges (ascending) and (sims, bins) posterior draws of each bin's accuracy,
    each draw made non-decreasing in confidence (pool-adjacent-violators, weighted by size)."""
    conf, ok = setting.confidence, setting.correct
    bins = int(np.clip(len(conf) // BIN_ITEMS, 1, MAX_BINS))
    chunks = np.array_split(np.argsort(conf, kind="stable"), bins)
    edges = np.array([conf[chunk[0]] for chunk in chunks[1:]])
    k = np.array([ok[chunk].sum() for chunk in chunks], dtype=float)
    size = np.array([len(chunk) for chunk in chunks], dtype=float)
    draws = rng.beta(k + PRIOR, size - k + PRIOR, size=(sims, bins))
    return edges, np.array([_non_decreasing(row, size) for row in draws])


def _non_decreasing(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted least-squares non-decreasing fit (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for value, weight in zip(values, weights, strict=True):
        blocks.append([float(value), float(weight), 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean2, w2, c2 = blocks.pop()
            mean1, w1, c1 = blocks.pop()
            blocks.append([(mean1 * w1 + mean2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    return np.repeat([b[0] for b in blocks], [int(b[2]) for b in blocks])


def _simulate(setting: _Setting, extra: int, sims: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per simulated future: whether the gate passes, and the share of items it accepts."""
    rng = np.random.default_rng(seed)
    pop = setting.population
    n_obs = len(setting.confidence)
    passed = np.zeros(sims, dtype=bool)
    automation = np.zeros(sims)
    if n_obs + extra == 0 or setting.n_items == 0:
        return passed, automation
    if n_obs:
        edges, draws = _curve_draws(setting, sims, rng)
    else:  # no evidence yet: a coin toss
        edges, draws = np.array([]), np.full((sims, 1), 0.5)
    plan = scan_plan(
        n_obs + extra,
        target=setting.target,
        confidence_level=setting.confidence_level,
        planning_accuracy=setting.planning_accuracy,
    )
    sorted_pop = np.sort(pop)
    left_after = max(len(pop) - extra, 0)
    for s in range(sims):
        if extra:
            picked = rng.choice(len(pop), size=extra, replace=extra > len(pop))
            new_conf = pop[picked]
            p_ok = draws[s, np.searchsorted(edges, new_conf, side="right")]
            new_ok = rng.random(extra) < p_ok
            conf = np.concatenate([setting.confidence, new_conf])
            ok = np.concatenate([setting.correct, new_ok])
        else:
            conf, ok = setting.confidence, setting.correct
        grid = threshold_grid(conf, setting.step_fraction, tuple(spec.start for spec in plan))
        best = lowest_passing(run_scans(grid, ok, plan, setting.target))
        if best is None or best.best is None:
            continue
        passed[s] = True
        threshold = grid.thresholds[best.best]
        share = (len(pop) - np.searchsorted(sorted_pop, threshold, side="left")) / max(len(pop), 1)
        automation[s] = share * left_after / setting.n_items
    return passed, automation
