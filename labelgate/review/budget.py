"""How many random calibration reviews a project plans, and how many each queue asks for.

``review.calibration_size: auto`` (the default) sizes the sample for what the gate needs at
the project's size (see :func:`auto_calibration_size`); a number is taken as given. Either
way, a review queue keeps asking for calibration items while the gate cannot pass yet
(:func:`calibration_goal`), so answering the queue always brings the gate closer.
"""

import math
from dataclasses import dataclass

import pandas as pd

from labelgate.accept import run_gate
from labelgate.gate import GateResult, min_sample_for_target
from labelgate.gate_scan import START_FRACTION, two_scan_size
from labelgate.images.gate import run_detection_gate
from labelgate.spec import GateSpec, ProjectSpec, ReviewSpec

# When the planned sample is reviewed and the gate still cannot pass, each new queue asks for
# at least this many more calibration items (or the uncertain part's size, if larger).
MIN_TOP_UP = 50


def auto_calibration_size(n_items: int, gate: GateSpec) -> int:
    """The calibration sample ``auto`` plans for a project of ``n_items`` items.

    Let ``s`` be the sample at which n/n first passes (59 for 95% at 95%) and ``p`` the sample
    at which the gate adds its planned, slip-tolerant scan (538 for 95% at 95%, see
    :func:`labelgate.gate_scan.scan_plan`). The plan is a tenth of the items, at least ``2s``
    (room for the small-start scan to pass and extend beyond its first test) and at most
    ``p`` (past it, more calibration buys little and the rest of the budget is better spent
    on active learning), and never more than the items. A reviewed calibration item is a
    human label too, so the sample is not lost to automation, only to active learning.
    """
    if n_items < 0:
        raise ValueError(f"n_items must be >= 0, got {n_items}")
    alpha = 1.0 - gate.confidence
    small = min_sample_for_target(gate.target_accuracy, alpha)
    planned = two_scan_size(
        target=gate.target_accuracy,
        confidence_level=gate.confidence,
        planning_accuracy=gate.planning_accuracy,
    )
    share = math.ceil(START_FRACTION * n_items)
    capped = share if planned is None else min(share, planned)
    return min(n_items, max(2 * small, capped))


def planned_calibration_size(review: ReviewSpec, n_items: int, gate: GateSpec) -> int:
    """The calibration sample the project plans: the explicit number or ``auto``'s, capped by
    ``review.budget`` when one is given.

    With ``auto`` and a budget that covers the size at which the gate adds its slip-tolerant
    planned scan (538 for 95% at 95%), the plan is at least that size and at least half the
    budget, even where a tenth of the items is less: below 538 the gate has only the n/n
    scan, which one ambiguous item among the most confident ends, and the planned scan's
    first test (269 items) is safer the smaller the share of the sample it covers. Measured
    on banking77 (docs/BENCHMARKS.md, 5 seeds each): 3,000 items over 77 intents at 600
    reviews auto-accepted 0.060 of the items with 300-450 calibration reviews, 0.366 with
    538; all 9,999 items at 2,000 reviews 0.604 with 538, 0.686 with 1,000 and no better
    (0.666) with 1,500, so the rest of the budget stays with active learning.
    """
    if review.calibration_size != "auto":
        size = int(review.calibration_size)
    else:
        size = auto_calibration_size(n_items, gate)
        two_scan = two_scan_size(
            target=gate.target_accuracy,
            confidence_level=gate.confidence,
            planning_accuracy=gate.planning_accuracy,
        )
        if review.budget is not None and two_scan is not None and review.budget >= two_scan:
            size = min(n_items, max(size, two_scan, review.budget // 2))
    return size if review.budget is None else min(size, review.budget)


def calibration_goal(
    review: ReviewSpec,
    n_items: int,
    gate: GateSpec,
    *,
    result: GateResult | None,
    calibration_reviewed: int,
) -> int:
    """Total calibration items the next queue aims for (reviewed ones included).

    The planned sample first; once it is reviewed and the gate still accepts nothing, the
    queue asks for ``reviews_needed`` more, at most the larger of ``MIN_TOP_UP`` and the
    uncertain part per round, so calibration items keep coming until the gate can pass.
    ``review.budget`` caps the total.
    """
    goal = planned_calibration_size(review, n_items, gate)
    if result is not None and result.threshold is None and calibration_reviewed >= goal:
        top_up = min(result.reviews_needed, max(MIN_TOP_UP, review.uncertain_size))
        goal = calibration_reviewed + max(top_up, 1)
    if review.budget is not None:
        goal = min(goal, review.budget)
    return min(goal, n_items)


def calibration_warnings(
    review: ReviewSpec, gate: GateSpec, n_items: int | None = None
) -> list[str]:
    """Plain-language warnings about a calibration sample too small for the gate."""
    alpha = 1.0 - gate.confidence
    small = min_sample_for_target(gate.target_accuracy, alpha)
    goal = f"{gate.target_accuracy:.1%} accuracy at {gate.confidence:.0%} confidence"
    warnings = []
    if review.calibration_size != "auto" and int(review.calibration_size) < small:
        warnings.append(
            f"review.calibration_size is {review.calibration_size}, below the {small} random "
            f"calibration reviews the gate's first test needs for {goal}: nothing can be "
            f"auto-accepted until at least {small} are reviewed. Raise it or use "
            "'calibration_size: auto'."
        )
    if review.budget is not None and review.budget < small:
        warnings.append(
            f"review.budget is {review.budget}, below the {small} random calibration reviews "
            f"the gate's first test needs for {goal}: nothing can be auto-accepted."
        )
    if n_items is not None and 0 < n_items < small:
        warnings.append(
            f"the project has {n_items} items, fewer than the {small} calibration reviews "
            f"the gate's first test needs for {goal}: every item needs a human."
        )
    return warnings


@dataclass(frozen=True)
class QueueSizes:
    """What the next review queue asks for."""

    calibration_size: int  # total calibration sample (reviewed ones included)
    uncertain_size: int  # least-confident items for active learning


def queue_sizes(spec: ProjectSpec, auto_labels: pd.DataFrame, reviewed: pd.DataFrame) -> QueueSizes:
    """The sizes to hand :func:`labelgate.review.select_review_queue` now: the project's
    calibration goal given its current gate decision, and the uncertain part. With
    ``review.budget``, calibration items come first and the uncertain part takes what is
    left, so reviewing the whole queue never goes past the budget."""
    auto = auto_labels.drop_duplicates("item_id")
    gate_of = run_detection_gate if spec.modality == "image_detection" else run_gate
    result = gate_of(auto, reviewed, spec.gate) if len(auto) else None
    calibration_reviewed = int((reviewed["purpose"] == "calibration").sum())
    goal = calibration_goal(
        spec.review,
        len(auto),
        spec.gate,
        result=result,
        calibration_reviewed=calibration_reviewed,
    )
    uncertain = spec.review.uncertain_size
    if spec.review.budget is not None:
        left = max(spec.review.budget - reviewed["item_id"].nunique(), 0)
        goal = min(goal, calibration_reviewed + left)
        uncertain = max(0, min(uncertain, left - max(goal - calibration_reviewed, 0)))
    return QueueSizes(goal, uncertain)
