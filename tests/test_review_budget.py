"""Budget planning: ``calibration_size: auto``, calibration that keeps coming until the gate
can pass, warnings for a sample too small, a stable "reviews still needed" and the power
curve that ``labelgate status`` shows."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from labelgate.gate import GateResult, choose_threshold
from labelgate.gate_power import power_curve
from labelgate.review import select_review_queue
from labelgate.review.budget import (
    auto_calibration_size,
    calibration_goal,
    calibration_warnings,
    planned_calibration_size,
    queue_sizes,
)
from labelgate.spec import GateSpec, ProjectSpec, ReviewSpec
from labelgate.status import ProjectStatus
from labelgate_cli.app import status_table

GATE = GateSpec()  # 95% at 95%


def test_auto_is_the_default_and_numbers_still_work() -> None:
    assert ReviewSpec().calibration_size == "auto"
    assert ReviewSpec(calibration_size=250).calibration_size == 250
    assert planned_calibration_size(ReviewSpec(calibration_size=250), 10_000, GATE) == 250
    assert planned_calibration_size(ReviewSpec(), 10_000, GATE) == 538


@pytest.mark.parametrize(
    ("n_items", "expected"),
    [(40, 40), (500, 118), (1_153, 118), (3_000, 300), (5_000, 500), (10_000, 538)],
)
def test_auto_sizes_the_sample_for_the_gate_at_the_project_size(
    n_items: int, expected: int
) -> None:
    # A tenth of the items, at least twice the 59 at which n/n passes, at most the 538 at
    # which the slip-tolerant planned scan joins, never more than the items.
    assert auto_calibration_size(n_items, GATE) == expected


def test_a_budget_that_covers_the_planned_scan_buys_it() -> None:
    # 3,000 items: a tenth is 300, but a 600-review budget can pay for the 538 at which the
    # slip-tolerant planned scan joins, so auto plans 538 (and leaves 62 for active learning).
    assert planned_calibration_size(ReviewSpec(budget=600), 3_000, GATE) == 538
    assert planned_calibration_size(ReviewSpec(budget=538), 3_000, GATE) == 538
    # One review short of it: the n/n scan alone, sized as without a budget.
    assert planned_calibration_size(ReviewSpec(budget=537), 3_000, GATE) == 300
    # Never more than the items, and an explicit number is taken as given.
    assert planned_calibration_size(ReviewSpec(budget=600), 500, GATE) == 500
    assert planned_calibration_size(ReviewSpec(budget=600), 0, GATE) == 0  # empty project
    explicit = ReviewSpec(budget=600, calibration_size=200)
    assert planned_calibration_size(explicit, 3_000, GATE) == 200
    # A budget past twice 538 buys half of itself: the planned scan's first test (269 items)
    # then covers the most confident quarter or less of the sample, not half of it.
    assert planned_calibration_size(ReviewSpec(budget=2_000), 10_000, GATE) == 1_000
    assert planned_calibration_size(ReviewSpec(budget=1_000), 10_000, GATE) == 538
    # Without a budget a large project plans 538, as before.
    assert planned_calibration_size(ReviewSpec(), 10_000, GATE) == 538


def test_a_budget_caps_the_calibration_sample() -> None:
    review = ReviewSpec(budget=80)
    assert planned_calibration_size(review, 3_000, GATE) == 80
    failed = _failed(reviews_needed=400)
    assert calibration_goal(review, 3_000, GATE, result=failed, calibration_reviewed=80) == 80


def _failed(reviews_needed: int) -> GateResult:
    return GateResult(None, 120, 0, None, None, 0.95, 0.95, reviews_needed, "no")


def test_calibration_keeps_coming_until_the_gate_can_pass() -> None:
    review = ReviewSpec(calibration_size=120, uncertain_size=30)
    # Planned sample not yet reviewed: the plan.
    assert calibration_goal(review, 1_153, GATE, result=None, calibration_reviewed=40) == 120
    # All 120 reviewed, the gate accepts nothing: the next queue asks for more.
    goal = calibration_goal(review, 1_153, GATE, result=_failed(230), calibration_reviewed=120)
    assert goal == 120 + 50  # at most max(MIN_TOP_UP, uncertain_size) per queue
    assert calibration_goal(review, 1_153, GATE, result=_failed(7), calibration_reviewed=120) == 127
    # Once the gate passes, no more than the plan.
    passed = GateResult(0.9, 120, 60, 1.0, 0.95, 0.95, 0.95, 0, "ok")
    assert calibration_goal(review, 1_153, GATE, result=passed, calibration_reviewed=120) == 120


def _project(tmp_path: Path, calibration_size: int | str = 60, **review: int) -> ProjectSpec:
    return ProjectSpec.model_validate(
        {
            "name": "budget",
            "modality": "text",
            "source": {"path": str(tmp_path), "text_column": "text"},
            "classes": [{"name": "a", "description": "a"}, {"name": "b", "description": "b"}],
            "labelers": [{"type": "rules", "rules": {"a": ["x"]}}],
            "review": {"calibration_size": calibration_size, "uncertain_size": 10, **review},
        }
    )


def _round_one(n: int = 600) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Auto-labels of ``n`` items and 60 calibration reviews, half of them disagreeing."""
    rng = np.random.default_rng(0)
    ids = [f"{i:016x}" for i in range(n)]
    auto = pd.DataFrame(
        {
            "item_id": ids,
            "label": rng.choice(["a", "b"], n),
            "confidence": rng.uniform(0.5, 1.0, n),
            "margin": rng.uniform(0, 1, n),
            "entropy": rng.uniform(0, 1, n),
        }
    )
    picked = auto.iloc[:60]
    flip = {"a": "b", "b": "a"}
    reviewed = pd.DataFrame(
        {
            "item_id": picked["item_id"],
            "label": [lab if i % 2 else flip[lab] for i, lab in enumerate(picked["label"])],
            "purpose": "calibration",
        }
    )
    return auto, reviewed


def test_the_second_round_queue_still_holds_calibration_items(tmp_path: Path) -> None:
    """Round 1 reviewed the whole planned sample, and the gate cannot pass (half of it is
    wrong): round 2 must not be uncertain items only."""
    auto, reviewed = _round_one()
    sizes = queue_sizes(_project(tmp_path), auto, reviewed)
    assert sizes.calibration_size > 60 and sizes.uncertain_size == 10
    queue = select_review_queue(
        auto,
        auto[["item_id"]].assign(text=auto["item_id"]),
        already_reviewed=set(reviewed["item_id"]),
        already_queued_calibration=set(),
        calibration_size=sizes.calibration_size,
        calibration_reviewed=60,
        uncertain_size=sizes.uncertain_size,
        seed=0,
    )
    assert (queue["purpose"] == "calibration").sum() == sizes.calibration_size - 60 > 0


def test_the_queue_stays_within_the_review_budget(tmp_path: Path) -> None:
    auto, reviewed = _round_one()
    sizes = queue_sizes(_project(tmp_path, budget=100), auto, reviewed)
    assert sizes.calibration_size == 100 and sizes.uncertain_size == 0  # calibration first
    sizes = queue_sizes(_project(tmp_path, budget=200), auto, reviewed)
    assert sizes.calibration_size == 110 and sizes.uncertain_size == 10
    spent = queue_sizes(_project(tmp_path, budget=60), auto, reviewed)
    assert spent.calibration_size == 60 and spent.uncertain_size == 0


def test_a_calibration_size_below_the_first_test_warns() -> None:
    low = calibration_warnings(ReviewSpec(calibration_size=30), GATE)
    assert len(low) == 1 and "30" in low[0] and "59" in low[0] and "auto" in low[0]
    assert calibration_warnings(ReviewSpec(calibration_size=59), GATE) == []
    assert calibration_warnings(ReviewSpec(), GATE, n_items=2_000) == []
    assert "budget" in calibration_warnings(ReviewSpec(budget=20), GATE)[0]


def _labeler(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A few-shot head: accuracy rises with confidence to about 98% at the top."""
    conf = rng.beta(6, 1.5, n)
    return conf, rng.random(n) < 0.85 + 0.13 * conf**2


def test_reviews_still_needed_is_stable_and_never_exceeds_the_items_left() -> None:
    """Rounds of a 1,153-item project: the estimate never exceeds the items left (the old
    estimate asked for up to 12,160) and moves by less than an order of magnitude."""
    items, ratios = 1_153, []
    for seed in range(6):
        conf, ok = _labeler(items, np.random.default_rng(seed))
        estimates = []
        for reviewed in (120, 170, 220, 270):  # the calibration sample only grows
            result = choose_threshold(
                conf[:reviewed],
                ok[:reviewed],
                target=0.95,
                confidence_level=0.95,
                population_confidence=conf[reviewed:],
            )
            if result.threshold is None:
                assert 0 < result.reviews_needed <= items - reviewed
                estimates.append(result.reviews_needed)
        if len(estimates) > 1:
            ratios.append(max(estimates) / min(estimates))
    assert len(ratios) >= 4
    assert np.median(ratios) <= 3 and np.mean(np.array(ratios) <= 10) >= 0.8


def test_the_power_curve_rises_with_reviews_and_is_repeatable() -> None:
    rng = np.random.default_rng(3)
    conf = rng.beta(12, 1, 2_000)
    ok = rng.random(2_000) < conf
    args = {"target": 0.95, "confidence_level": 0.95}
    curve = power_curve(conf[:80], ok[:80], population_confidence=conf[80:], **args)
    assert [p.extra_reviews for p in curve] == [100, 250, 500]
    assert [p.calibration_size for p in curve] == [180, 330, 580]
    assert curve == power_curve(conf[:80], ok[:80], population_confidence=conf[80:], **args)
    assert curve[-1].expected_automation > curve[0].expected_automation > 0
    assert curve[-1].pass_probability >= curve[0].pass_probability
    assert all(0 <= p.expected_automation <= p.expected_labeled <= 1 for p in curve)
    # Reviewed items count as labeled: 80 + extra reviewed of 2,000 items, plus the auto part.
    assert curve[0].expected_labeled == pytest.approx(curve[0].expected_automation + 180 / 2_000)
    # Evidence that the labeler is mostly wrong: reviewing more will not pay.
    bad = power_curve(
        conf[:80], ok[:80] & (np.arange(80) % 3 == 0), population_confidence=conf[80:], **args
    )
    assert all(p.expected_automation < 0.01 for p in bad)
    # Never more reviews than items left.
    small = power_curve(conf[:80], ok[:80], population_confidence=conf[80:200], **args)
    assert [p.extra_reviews for p in small] == [100, 120]


def test_status_shows_the_power_curve_and_warnings() -> None:
    rng = np.random.default_rng(3)
    conf = rng.beta(12, 1, 1_000)
    ok = rng.random(1_000) < conf
    curve = power_curve(
        conf[:80], ok[:80], population_confidence=conf[80:], target=0.95, confidence_level=0.95
    )
    status = ProjectStatus(
        "p", 1, 1_000, 0, 1_000, 80, 80, 0, 0, 80, None,
        power=tuple(curve), planned_calibration=118, warnings=("calibration is low",),
    )  # fmt: skip
    table = status_table(status)
    rows = dict(zip(table.columns[0]._cells, table.columns[1]._cells, strict=True))
    assert rows["planned calibration sample"] == "118"
    row = rows["expected automation after +250 calibration reviews"]
    assert f"{curve[1].expected_automation:.1%} auto" in row and "gate passes in" in row
    assert f"{curve[1].expected_labeled:.1%} labeled" in row
    assert "warning: calibration is low" in str(table.caption)


def test_loading_a_project_with_too_small_a_calibration_sample_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from labelgate_cli.projects import resolve_project

    def written(calibration_size: int | str) -> str:
        spec = _project(tmp_path, calibration_size=calibration_size)
        path = tmp_path / "project.yaml"
        data = spec.model_dump(mode="json", exclude_none=True)
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return str(path)

    assert resolve_project(written(30)).review.calibration_size == 30
    assert "warning: review.calibration_size is 30, below the 59" in capsys.readouterr().err
    resolve_project(written("auto"))
    assert "warning" not in capsys.readouterr().err


def test_a_labeler_whose_best_items_miss_the_target_is_not_sent_for_more_reviews() -> None:
    """At most 90% right even at full confidence: no number of reviews gets it through, and
    the forecast says so instead of extrapolating its curve above the evidence."""
    rng = np.random.default_rng(0)
    conf = rng.beta(5, 2, 5_000)
    ok = rng.random(5_000) < 0.9 * conf
    result = choose_threshold(
        conf[:538], ok[:538], target=0.95, confidence_level=0.95, population_confidence=conf[538:]
    )
    assert result.threshold is None
    assert result.reviews_needed == 5_000 - 538
    assert "improve the labelers" in result.reason


def test_uncertain_reviews_do_not_count_toward_the_calibration_sample(tmp_path: Path) -> None:
    """30 calibration and 40 uncertain reviews: 30 calibration items are still to come (the
    planned 60), and within a budget of 100 they take all of the 30 reviews left."""
    auto, reviewed = _round_one()
    reviewed = reviewed.iloc[:30]
    uncertain = auto.iloc[100:140][["item_id", "label"]].assign(purpose="uncertain")
    reviewed = pd.concat([reviewed, uncertain], ignore_index=True)
    sizes = queue_sizes(_project(tmp_path), auto, reviewed)
    assert sizes.calibration_size == 60 and sizes.uncertain_size == 10
    capped = queue_sizes(_project(tmp_path, budget=100), auto, reviewed)
    assert capped.calibration_size == 60 and capped.uncertain_size == 0
