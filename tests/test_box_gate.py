"""The box-level detection gate: clustered Clopper–Pearson bounds and their honesty."""

import numpy as np
import pandas as pd
import pytest

from labelgate.gate import clopper_pearson_lower
from labelgate.images import box_gate as bg
from labelgate.images.box_gate import (
    BoxEvidence,
    box_evidence,
    box_gate,
    clustered_lower_bound,
    effective_size,
    image_accept_mask,
)

LEVEL = 0.9
ALPHA = 1 - LEVEL
SEEDS = 200


# --- the clustered bound -------------------------------------------------------------------


def test_all_or_nothing_images_count_once_each() -> None:
    # 40 images of 10 boxes, each image entirely right or entirely wrong: 40 trials, not 400.
    totals = np.full(40, 10)
    successes = np.where(np.arange(40) < 36, 10, 0)
    assert effective_size(successes, totals) == pytest.approx(40)
    assert clustered_lower_bound(successes, totals, ALPHA) == pytest.approx(
        clopper_pearson_lower(36, 40, ALPHA)
    )
    assert clustered_lower_bound(successes, totals, ALPHA) < clopper_pearson_lower(360, 400, ALPHA)


def test_independent_looking_boxes_keep_their_count() -> None:
    rng = np.random.default_rng(0)
    totals = np.full(200, 10)
    successes = rng.binomial(10, 0.9, 200)  # no image effect
    assert effective_size(successes, totals) > 1000
    assert effective_size(successes, totals) <= 2000


def test_perfect_evidence_is_bounded_by_images_not_boxes() -> None:
    # 30 images x 20 boxes all right: as if 30 independent trials (all-alike is not ruled out)
    totals, successes = np.full(30, 20), np.full(30, 20)
    assert effective_size(successes, totals) == pytest.approx(30)
    assert clustered_lower_bound(successes, totals, ALPHA) == pytest.approx(ALPHA ** (1 / 30))


# --- honesty over simulated populations ---------------------------------------------------


def population(
    rng: np.random.Generator, n_images: int, precision: float, miss_rate: float
) -> tuple[np.ndarray, ...]:
    """Images with an image-level box precision (Beta, strongly dispersed: boxes of one image
    are right or wrong together) and missed objects that the miss score partly predicts."""
    n = 1 + rng.poisson(9, n_images)
    image = np.repeat(np.arange(n_images), n)
    q = rng.beta(precision * 3, (1 - precision) * 3, n_images)
    confidence = rng.beta(8, 2, len(image))
    correct = rng.random(len(image)) < q[image]
    v = rng.normal(size=n_images)
    misses = rng.poisson(miss_rate * n * np.exp(v - 0.5))
    miss_score = 1 / (1 + np.exp(-(-1.5 + v + 0.5 * rng.normal(size=n_images))))
    n_true = np.bincount(image[correct], minlength=n_images) + misses
    return image, confidence, correct, miss_score, n_true


def sample(pop: tuple[np.ndarray, ...], idx: np.ndarray) -> BoxEvidence:
    image, confidence, correct, miss_score, n_true = pop
    position = np.full(len(miss_score), -1)
    position[idx] = np.arange(len(idx))
    keep = position[image] >= 0
    return BoxEvidence(
        [str(i) for i in idx],
        position[image[keep]],
        confidence[keep],
        correct[keep],
        miss_score[idx],
        n_true[idx],
    )


def simulate(precision: float, miss_rate: float, target_recall: float) -> tuple[float, float]:
    """(share of seeds whose accepted images miss a target, mean automation)."""
    failures, automation = 0, []
    for seed in range(SEEDS):
        rng = np.random.default_rng(seed)
        pop = population(rng, 3000, precision, miss_rate)
        idx = rng.choice(3000, 300, replace=False)
        result = box_gate(
            sample(pop, idx),
            target_precision=0.9,
            target_recall=target_recall,
            confidence_level=LEVEL,
        )
        image, confidence, correct, miss_score, n_true = pop
        per_image = np.split(confidence, np.cumsum(np.bincount(image))[:-1])
        accepted = image_accept_mask(per_image, miss_score, result)
        automation.append(accepted.mean())
        if accepted.any():
            boxes = accepted[image]
            recall = correct[boxes].sum() / max(1, n_true[accepted].sum())
            failures += bool(correct[boxes].mean() < 0.9 or recall < target_recall)
    return failures / SEEDS, float(np.mean(automation))


TOLERANCE = 2 * np.sqrt(ALPHA * (1 - ALPHA) / SEEDS)  # Monte-Carlo noise, ~0.04


@pytest.mark.parametrize(
    ("precision", "miss_rate", "target_recall"),
    [(0.88, 0.02, 0.5), (0.97, 0.12, 0.9)],
    ids=["precision-just-below-target", "recall-just-below-target"],
)
def test_box_gate_is_honest_over_seeds(
    precision: float, miss_rate: float, target_recall: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    failure_rate, _ = simulate(precision, miss_rate, target_recall)
    assert failure_rate <= ALPHA + TOLERANCE

    # The simulation can catch a gate that trusts point estimates instead of bounds.
    def point_estimate(successes: np.ndarray, totals: np.ndarray, alpha: float) -> float:
        return float(np.sum(successes) / np.sum(totals)) if np.sum(totals) else 0.0

    monkeypatch.setattr(bg, "clustered_lower_bound", point_estimate)
    naive_rate, _ = simulate(precision, miss_rate, target_recall)
    assert naive_rate > ALPHA + TOLERANCE


def test_box_gate_automates_an_easy_population() -> None:
    failure_rate, automation = simulate(0.96, 0.01, 0.8)
    assert failure_rate <= ALPHA + TOLERANCE
    assert automation >= 0.3  # a gate that never accepts fails here


# --- evidence from tables -------------------------------------------------------------------


def _box(label: str, x: float, confidence: float = 1.0) -> dict[str, object]:
    return {"label": label, "x1": x, "y1": 0.1, "x2": x + 0.1, "y2": 0.3, "confidence": confidence}


def test_box_evidence_uses_calibration_reviews_only() -> None:
    auto = pd.DataFrame(
        {
            "item_id": ["a", "b"],
            "boxes": [[_box("pill", 0.1, 0.9), _box("pill", 0.5, 0.8)], [_box("pill", 0.1, 0.7)]],
            "max_dropped_confidence": [0.1, 0.2],
        }
    )
    reviewed = pd.DataFrame(
        {
            "item_id": ["a", "b"],
            "boxes": [[_box("pill", 0.1), _box("pill", 0.7)], [_box("pill", 0.1)]],
            "purpose": ["calibration", "uncertain"],
        }
    )
    evidence = box_evidence(auto, reviewed)
    assert evidence.item_ids == ["a"]  # the uncertain review is no calibration evidence
    assert evidence.correct.tolist() == [True, False]
    assert evidence.n_true.tolist() == [2]
    assert evidence.found_at(0.85).tolist() == [1]
