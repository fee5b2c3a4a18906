"""The auto-acceptance gate: Clopper–Pearson bound, fixed-sequence scan, and its honesty."""

import itertools
import json

import numpy as np
import pytest
from scipy.stats import binomtest

from labelgate.gate import (
    GateResult,
    auto_accept_mask,
    choose_threshold,
    clopper_pearson_lower,
    min_sample_for_target,
    scan_plan,
)

TARGET = 0.95
LEVEL = 0.95
ALPHA = 1 - LEVEL
N_START = min_sample_for_target(TARGET, ALPHA)  # 59: where the small-start scan begins


def gate(confidence: np.ndarray, correct: np.ndarray, **kwargs: object) -> GateResult:
    return choose_threshold(
        confidence,
        correct,
        target=TARGET,
        confidence_level=LEVEL,
        **kwargs,  # type: ignore[arg-type]
    )


# --- Clopper–Pearson and n_min -------------------------------------------------------------


def test_clopper_pearson_known_values() -> None:
    assert clopper_pearson_lower(59, 59, 0.05) >= 0.95
    assert clopper_pearson_lower(58, 58, 0.05) < 0.95
    assert clopper_pearson_lower(0, 10, 0.05) == 0.0
    assert clopper_pearson_lower(0, 0, 0.05) == 0.0
    with pytest.raises(ValueError):
        clopper_pearson_lower(5, 4, 0.05)


@pytest.mark.parametrize(
    ("k", "n", "alpha"), [(59, 59, 0.05), (190, 200, 0.05), (1, 3, 0.1), (480, 500, 0.01)]
)
def test_clopper_pearson_matches_scipy_exact(k: int, n: int, alpha: float) -> None:
    expected = binomtest(k, n, alternative="greater").proportion_ci(1 - alpha, method="exact").low
    assert clopper_pearson_lower(k, n, alpha) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize(("target", "alpha"), [(0.95, 0.05), (0.9, 0.05), (0.99, 0.01)])
def test_min_sample_for_target_is_the_smallest(target: float, alpha: float) -> None:
    n = min_sample_for_target(target, alpha)
    assert clopper_pearson_lower(n, n, alpha) >= target
    assert clopper_pearson_lower(n - 1, n - 1, alpha) < target
    if (target, alpha) == (0.95, 0.05):
        assert n == 59


# --- decisions ----------------------------------------------------------------------------


def test_no_reviews_accepts_nothing() -> None:
    result = gate(np.array([]), np.array([], dtype=bool))
    assert result.threshold is None
    assert result.reviews_needed == N_START
    assert "Only 0 calibration reviews" in result.reason


def test_too_few_reviews_accepts_nothing_and_asks_for_more() -> None:
    confidence = np.linspace(0.9, 1.0, 30)
    result = gate(confidence, np.ones(30, dtype=bool))
    assert result.threshold is None
    assert result.n_accepted == 0
    assert result.scan == []
    assert result.reviews_needed >= N_START - 30
    assert f"{result.reviews_needed} more random calibration reviews" in result.reason
    assert "Only 30 calibration reviews" in result.reason
    assert not auto_accept_mask(confidence, result).any()


def test_perfect_labeler_accepts_everything() -> None:
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.3, 1.0, 300)
    result = gate(confidence, np.ones(300, dtype=bool))
    assert result.threshold == confidence.min()
    assert result.n_accepted == 300
    assert result.accuracy == 1.0
    assert result.lower_bound is not None and result.lower_bound >= TARGET
    assert result.reviews_needed == 0
    assert auto_accept_mask(confidence, result).all()
    assert all(row["passed"] for row in result.scan)


def test_labeler_below_target_everywhere_accepts_nothing() -> None:
    confidence = np.linspace(1.0, 0.5, 1000)  # high to low
    correct = np.arange(1000) % 10 != 0  # every grid prefix is exactly 90% correct
    result = gate(confidence, correct)
    assert result.threshold is None
    assert [row["sequence"] for row in result.scan] == ["small", "planned"]
    assert not any(row["passed"] for row in result.scan)
    assert result.reviews_needed > 0
    assert "improve the labelers" in result.reason
    population = np.linspace(1.0, 0.5, 700)  # the items nobody has reviewed
    capped = gate(confidence, correct, population_confidence=population)
    assert capped.reviews_needed == 700  # never more than the items left
    assert "all 700 remaining items" in capped.reason


def test_review_estimate_is_usually_enough() -> None:
    def draw(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        confidence = rng.beta(8, 1.5, n)  # accuracy rises with confidence, from 90% to 99.5%
        return confidence, rng.random(n) < 0.9 + 0.095 * confidence**4

    outcomes = []
    for seed in range(12):
        result = gate(*draw(250, np.random.default_rng(seed)))
        if result.threshold is not None or "improve the labelers" in result.reason:
            continue
        assert result.reviews_needed > 0
        assert f"{result.reviews_needed} more random calibration reviews" in result.reason
        for repeat in range(3):  # fresh samples of the suggested size from the same population
            rng = np.random.default_rng(1000 + 10 * seed + repeat)
            more = gate(*draw(250 + result.reviews_needed, rng), estimate_reviews=False)
            outcomes.append(more.threshold is not None)
    assert len(outcomes) >= 15
    assert np.mean(outcomes) >= 0.5  # an estimate, not a promise: enough more often than not


def test_a_reviewer_slip_among_the_most_confident_does_not_end_the_scan() -> None:
    confidence = np.linspace(1.0, 0.5, 1000)
    correct = np.ones(1000, dtype=bool)
    correct[[3, 17]] = False  # two disagreements among the 60 most confident; 99.8% overall
    result = gate(confidence, correct)
    assert result.threshold == confidence.min()
    assert [s["name"] for s in result.scans] == ["small", "planned"]
    assert result.scans[0]["passed"] is False and result.scans[1]["passed"] is True
    # Planned for (almost) perfection, only the small-start scan runs: the top 59 and out.
    strict = gate(confidence, correct, planning_accuracy=1.0)
    assert strict.threshold is None
    assert len(strict.scan) == 1 and strict.scan[0]["n"] < 70 and not strict.scan[0]["passed"]


def test_planning_accuracy_must_exceed_the_target() -> None:
    with pytest.raises(ValueError, match="accuracy must be in"):
        gate(np.linspace(1, 0, 500), np.ones(500, dtype=bool), planning_accuracy=0.9)


def test_scan_stops_at_first_failure_and_keeps_last_pass() -> None:
    confidence = np.linspace(1.0, 0.0, 1000)
    correct = np.ones(1000, dtype=bool)
    correct[600:] = False  # the bottom 40% is all wrong
    result = gate(confidence, correct)
    assert result.threshold is not None
    for name in ("small", "planned"):
        rows = [row for row in result.scan if row["sequence"] == name]
        assert rows[-1]["passed"] is False
        assert all(row["passed"] for row in rows[:-1])
    winner = max(
        (row for row in result.scan if row["passed"]), key=lambda row: row["n"]
    )  # the lowest threshold any scan passed
    assert result.threshold == winner["threshold"]
    assert result.n_accepted == winner["n"]
    assert 600 <= result.n_accepted < 640  # step 10: bound fails ~3 steps into the errors


def test_grid_is_fixed_before_looking_at_labels() -> None:
    rng = np.random.default_rng(3)
    confidence = rng.uniform(0.0, 1.0, 500)
    perfect = gate(confidence, np.ones(500, dtype=bool))
    noisy = gate(confidence, rng.random(500) < 0.99)
    tested = [(row["threshold"], row["n"]) for row in noisy.scan]
    assert tested == [(row["threshold"], row["n"]) for row in perfect.scan][: len(tested)]
    # The first test covers exactly the scan's start (59: where n/n passes at 95%/95%), not
    # the next step of 5; from there on every 5th item.
    assert [row["n"] for row in perfect.scan[:3]] == [59, 60, 65]
    rest = perfect.scan[1:]
    assert all(b["n"] - a["n"] == 5 for a, b in itertools.pairwise(rest))


def test_the_first_test_covers_exactly_the_start() -> None:
    # 400 items, a step of 4: without the anchor the first test would cover 60 items, and the
    # one wrong 60th item would end the scan although the 59 above it are all correct.
    confidence = np.linspace(1.0, 0.2, 400)
    correct = np.ones(400, dtype=bool)
    correct[59] = False
    result = gate(confidence, correct)
    assert result.n_accepted == 59
    assert result.threshold == confidence[58]


def test_ties_are_accepted_together() -> None:
    confidence = np.r_[np.full(300, 0.97), np.full(300, 0.6)]
    correct = np.r_[np.ones(300, dtype=bool), np.arange(300) % 2 == 0]
    result = gate(confidence, correct)
    assert result.threshold == 0.97
    assert result.n_accepted == 300
    assert [row["n"] for row in result.scan] == [300, 600, 300, 600]  # two scans, same grid
    thresholds = [row["threshold"] for row in result.scan if row["sequence"] == "small"]
    assert len(set(thresholds)) == len(thresholds)
    population = np.array([0.97, 0.97, 0.96, 0.99])
    assert auto_accept_mask(population, result).tolist() == [True, True, False, True]


def test_to_metadata_is_json_safe() -> None:
    rng = np.random.default_rng(1)
    confidence = rng.uniform(0.5, 1.0, 400)
    result = gate(confidence, np.ones(400, dtype=bool))
    meta = json.loads(json.dumps(result.to_metadata()))
    assert meta["threshold"] == result.threshold
    assert meta["scan"][0].keys() == {
        "sequence", "threshold", "n", "k", "accuracy", "lower_bound", "passed"
    }  # fmt: skip
    assert meta["scans"][0]["name"] == "small" and meta["scans"][0]["start"] == N_START
    empty = gate(np.array([]), np.array([], dtype=bool)).to_metadata()
    assert json.loads(json.dumps(empty))["threshold"] is None


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("confidence", "correct", "kwargs", "message"),
    [
        ([0.9, 0.8], [True], {}, "differ in length"),
        ([0.9, 1.2], [True, False], {}, "confidence must be in"),
        ([0.9, float("nan")], [True, False], {}, "confidence must be in"),
        ([0.9, -0.1], [True, False], {}, "confidence must be in"),
        ([0.9, 0.8], [1, 2], {}, "correct must hold booleans"),
        ([0.9], [True], {"target": 1.0}, "target"),
        ([0.9], [True], {"target": 0.0}, "target"),
        ([0.9], [True], {"confidence_level": 1.0}, "confidence_level"),
        ([0.9], [True], {"confidence_level": -0.5}, "confidence_level"),
        ([0.9], [True], {"step_fraction": 0.0}, "step_fraction"),
    ],
)
def test_invalid_inputs_are_refused(
    confidence: list[float], correct: list[object], kwargs: dict[str, float], message: str
) -> None:
    params = {"target": TARGET, "confidence_level": LEVEL, **kwargs}
    with pytest.raises(ValueError, match=message):
        choose_threshold(np.array(confidence), np.array(correct), **params)


# --- the pre-registered plan --------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 59, 115, 300, 537, 538, 1000, 5000])
def test_the_scans_share_alpha_and_start_where_promised(n: int) -> None:
    plan = scan_plan(n, target=TARGET, confidence_level=LEVEL)
    assert sum(spec.alpha for spec in plan) == pytest.approx(ALPHA)  # Bonferroni: no more
    if n < 538:  # 2 x 269, where 97.5% observed passes at 0.8 alpha
        assert [(s.name, s.start) for s in plan] == [("small", 59)]
    else:
        assert [(s.name, s.start) for s in plan] == [
            ("small", 90),
            ("planned", max(269, -(-n // 10))),
        ]
        assert plan[0].alpha == pytest.approx(0.2 * ALPHA)
