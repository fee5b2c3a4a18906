"""The gate keeps its promise at small n: simulated populations, realized failure rates.

A *failure* is a run in which the gate accepts something and the true accuracy of everything
at or above its threshold (over the whole population) is below the target. The promise is
P(failure) <= alpha = 1 - confidence; each case below is checked against alpha plus three
Monte-Carlo standard errors, and all cases pooled against alpha plus two.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest

from labelgate.gate import auto_accept_mask, choose_threshold, scan_plan

TARGET = 0.95
LEVEL = 0.95
ALPHA = 1 - LEVEL
SEEDS = 300
SIZES = (60, 115, 200, 300, 600, 1000)  # 600 and 1000 run two scans (Bonferroni)


@dataclass(frozen=True)
class Shape:
    """A label model: how confidences are spread and how accuracy depends on them."""

    name: str
    draw: Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]]  # conf, P(ok)


def _calibrated(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    conf = rng.beta(12, 1, n)
    return conf, conf


def _overconfident(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    conf = rng.beta(12, 1, n)
    return conf, conf**3


def _hard_classes(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """3 of 20 classes are much harder: same confidences, 70% of the accuracy."""
    conf = rng.beta(12, 1, n)
    hard = rng.integers(0, 20, n) < 3
    return conf, np.where(hard, 0.7 * conf, conf)


def _just_below_target(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """94.9% right at every confidence: every acceptance is a failure (the worst case)."""
    conf = rng.beta(12, 1, n)
    return conf, np.full(n, TARGET - 0.001)


def _cliff(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Perfect above 0.97, a coin toss below: the scan must stop near the cliff."""
    conf = rng.beta(12, 1, n)
    return conf, np.where(conf > 0.97, 1.0, 0.5)


SHAPES = [
    Shape("calibrated", _calibrated),
    Shape("overconfident", _overconfident),
    Shape("hard_classes", _hard_classes),
    Shape("just_below_target", _just_below_target),
    Shape("cliff", _cliff),
]


@dataclass(frozen=True)
class Population:
    """Sorted population confidences and the true accuracy above each of them."""

    conf_desc: np.ndarray
    accuracy_above: np.ndarray  # mean P(ok) of the top i + 1 items

    @classmethod
    def of(cls, shape: Shape, size: int = 200_000) -> "Population":
        conf, p_ok = shape.draw(np.random.default_rng(12345), size)
        order = np.argsort(-conf)
        return cls(conf[order], np.cumsum(p_ok[order]) / np.arange(1, size + 1))

    def accuracy_at(self, threshold: float) -> float:
        n = self._count_at(threshold)
        return float(self.accuracy_above[n - 1]) if n else 1.0

    def share_at(self, threshold: float) -> float:
        return self._count_at(threshold) / len(self.conf_desc)

    def _count_at(self, threshold: float) -> int:
        return int(np.searchsorted(-self.conf_desc, -threshold, side="right"))


def failure_rate(shape: Shape, n: int, gate: Callable = choose_threshold) -> tuple[float, float]:
    """Realized failure rate and mean share accepted over ``SEEDS`` calibration samples."""
    population = _population(shape.name)
    failures, accepted = 0, []
    for seed in range(SEEDS):
        rng = np.random.default_rng(seed)
        conf, p_ok = shape.draw(rng, n)
        correct = rng.random(n) < p_ok
        result = gate(conf, correct, target=TARGET, confidence_level=LEVEL, estimate_reviews=False)
        if result.threshold is None:
            accepted.append(0.0)
            continue
        accepted.append(population.share_at(result.threshold))
        failures += population.accuracy_at(result.threshold) < TARGET
    return failures / SEEDS, float(np.mean(accepted))


@cache
def _population(name: str) -> Population:
    return Population.of(next(shape for shape in SHAPES if shape.name == name))


def _slack(k: float, trials: int = SEEDS) -> float:
    return k * np.sqrt(ALPHA * (1 - ALPHA) / trials)


@pytest.fixture(scope="module")
def rates() -> dict[tuple[str, int], tuple[float, float]]:
    return {(shape.name, n): failure_rate(shape, n) for shape in SHAPES for n in SIZES}


def test_failure_rate_stays_within_alpha_for_every_shape_and_size(rates: dict) -> None:
    for (name, n), (failures, _) in rates.items():
        assert failures <= ALPHA + _slack(3), f"{name} at n={n}: failure rate {failures:.3f}"
    pooled = np.mean([failures for failures, _ in rates.values()])
    assert pooled <= ALPHA + _slack(2, SEEDS * len(rates))


def test_the_worst_case_is_tight_not_vacuous(rates: dict) -> None:
    """Just below the target, acceptance is rare but happens: the gate does not simply refuse
    everything, and the simulation can see an error rate near alpha."""
    worst = [rates[("just_below_target", n)][0] for n in SIZES]
    assert 0 < np.mean(worst) <= ALPHA + _slack(2, SEEDS * len(SIZES))


def test_the_gate_accepts_where_it_can(rates: dict) -> None:
    """Power: a calibrated labeler gets a real share accepted from 115 reviews on."""
    assert rates[("calibrated", 115)][1] >= 0.05
    assert rates[("calibrated", 300)][1] >= 0.15
    assert rates[("calibrated", 1000)][1] >= 0.4
    assert rates[("cliff", 200)][1] >= 0.05


def test_an_overconfident_point_estimate_would_fail_here() -> None:
    """The simulation can catch a dishonest gate: picking the lowest threshold whose observed
    accuracy meets the target (no bound) fails far more often than alpha."""

    def naive(conf: np.ndarray, correct: np.ndarray, **_: object) -> object:
        order = np.argsort(-conf)
        accuracy = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
        ok = np.flatnonzero(accuracy >= TARGET)
        threshold = None if len(ok) == 0 else float(conf[order][ok[-1]])
        return type("Result", (), {"threshold": threshold})()

    failures, _ = failure_rate(SHAPES[1], 300, gate=naive)
    assert failures > 0.3


def test_small_calibration_samples_can_pass() -> None:
    """115 reviews whose 60 most confident are all right: accepted (the old first test
    needed 234 items, so nothing could pass below that)."""
    rng = np.random.default_rng(7)
    conf = np.sort(rng.uniform(0.5, 1.0, 115))[::-1]
    correct = np.ones(115, dtype=bool)
    correct[60::2] = False  # below the top 60, half wrong
    result = choose_threshold(conf, correct, target=TARGET, confidence_level=LEVEL)
    assert result.threshold is not None
    assert 59 <= result.n_accepted <= 61
    assert result.scan_start == 59
    mask = auto_accept_mask(conf, result)
    assert mask[:59].all() and not mask[62:].any()


def test_the_scan_start_ignores_the_labels() -> None:
    """Starts come from the sample size alone: an error just inside the small scan's first
    test fails that scan whatever comes after; a label-peeking start (skip past the error)
    would have accepted here."""
    conf = np.linspace(1.0, 0.5, 115)
    correct = np.ones(115, dtype=bool)
    correct[50] = False  # inside the top 59; everything after is right
    result = choose_threshold(conf, correct, target=TARGET, confidence_level=LEVEL)
    assert result.threshold is None
    assert result.scan[0]["n"] == 59 and not result.scan[0]["passed"]
    # The same confidences with any labels give the same plan and the same first test.
    rng = np.random.default_rng(0)
    for n in (60, 115, 300, 600, 1500):
        conf = rng.uniform(0.3, 1.0, n)
        seen = set()
        for p in (1.0, 0.97, 0.9, 0.5):
            labels = rng.random(n) < p
            res = choose_threshold(
                conf, labels, target=TARGET, confidence_level=LEVEL, estimate_reviews=False
            )
            firsts = tuple(
                next((r["n"], r["threshold"]) for r in res.scan if r["sequence"] == s["name"])
                for s in res.scans
                if s["tests"]
            )
            seen.add((tuple((s["name"], s["alpha"], s["start"]) for s in res.scans), firsts))
        assert len(seen) == 1, f"n={n}: the scans depend on the labels: {seen}"
        plan = scan_plan(n, target=TARGET, confidence_level=LEVEL)
        assert [(s.name, s.start) for s in plan] == [(name, start) for (name, _, start) in
                                                     next(iter(seen))[0]]  # fmt: skip
