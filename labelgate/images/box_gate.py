"""The box-level detection gate: accepted boxes meet a target precision, accepted images a
target recall, both proven by clustered Clopper–Pearson lower bounds on the calibration sample.

Conventions: the evidence is the reviewed *random calibration* images only. Per image, every
auto box (kept by fusion, with its confidence) is matched one-to-one to the reviewed boxes
(same class, IoU >= 0.5, most confident first, :func:`labelgate.images.boxes.match_boxes`):
a matched auto box is a true positive, an unmatched one a false positive, an unmatched
reviewed box a miss. An image's *miss score* is the highest confidence among the candidate
boxes fusion dropped (``max_dropped_confidence``): the likelihood that an object is there but
not in the label.

Two fixed-sequence scans (grids built from confidences alone, never from the reviews):

1. **Box threshold** ``t`` (high to low): the boxes with confidence >= t over all calibration
   images must have precision >= ``target_precision``; the lowest passing ``t`` wins.
2. **Miss threshold** ``u`` (strict to lenient) over the images whose boxes all clear ``t``:
   the images with miss score <= u must have box recall >= ``target_recall`` *and* their
   boxes precision >= ``target_precision`` (an intersection-union test: both bounds at the
   same level). The most lenient passing ``u`` wins.

An image is auto-accepted when every one of its boxes clears ``t`` and its miss score is at
most ``u``; the others go to review (a likely missed object, or a box the gate cannot vouch for).

Boxes in one image are not independent (one dark photo spoils all its boxes), so the bounds
count *effective* boxes (Korn & Graubard 1998): the design effect of the ratio estimator with
images as clusters shrinks the box count, never below the Kish effective number of images
``(sum n_i)^2 / sum n_i^2`` (all boxes of an image equally right or wrong) nor above the box
count, and the exact Clopper–Pearson bound is taken at that effective size.
"""

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaincinv

from labelgate.gate import START_FRACTION, _json_safe, min_sample_for_accuracy
from labelgate.images.boxes import Boxes, match_boxes


@dataclass(frozen=True)
class BoxEvidence:
    """Calibration evidence, one entry per image (I images, B auto boxes in all).

    ``image`` (B,) the image index of each auto box; ``confidence`` (B,) and ``correct`` (B,)
    per auto box; ``miss_score`` (I,) and ``n_true`` (I,), the reviewed boxes, per image.
    """

    item_ids: list[str]
    image: np.ndarray
    confidence: np.ndarray
    correct: np.ndarray
    miss_score: np.ndarray
    n_true: np.ndarray

    @property
    def n_images(self) -> int:
        return len(self.item_ids)

    def found_at(self, threshold: float) -> np.ndarray:
        """Reviewed boxes matched by an auto box with confidence >= threshold, per image."""
        hit = self.correct & (self.confidence >= threshold)
        return np.bincount(self.image[hit], minlength=self.n_images)

    def min_confidence(self) -> np.ndarray:
        """Per image, its least confident auto box (inf: no box)."""
        out = np.full(self.n_images, np.inf)
        np.minimum.at(out, self.image, self.confidence)
        return out


def box_evidence(auto_labels: pd.DataFrame, reviewed: pd.DataFrame) -> BoxEvidence:
    """Match the auto boxes of the reviewed *calibration* images to the reviewed boxes.

    Only ``purpose == 'calibration'`` reviews count: items picked for review because the
    machine was unsure (``uncertain``) are not a random sample and would bias the bounds.
    """
    calibration = reviewed[reviewed["purpose"] == "calibration"]
    joined = calibration[["item_id", "boxes"]].merge(
        auto_labels[["item_id", "boxes", "max_dropped_confidence"]],
        on="item_id",
        suffixes=("_human", "_auto"),
    )
    image, confidence, correct, n_true = [], [], [], []
    for i, (auto, human) in enumerate(
        zip(joined["boxes_auto"], joined["boxes_human"], strict=True)
    ):
        predicted, truth = Boxes.from_records(auto), Boxes.from_records(human)
        matched = np.zeros(len(predicted), dtype=bool)
        for p, _, _ in match_boxes(predicted, truth).pairs:
            matched[p] = True
        image.extend([i] * len(predicted))
        confidence.extend(predicted.confidence.tolist())
        correct.extend(matched.tolist())
        n_true.append(len(truth))
    return BoxEvidence(
        item_ids=joined["item_id"].astype(str).tolist(),
        image=np.asarray(image, dtype=int),
        confidence=np.asarray(confidence, dtype=float),
        correct=np.asarray(correct, dtype=bool),
        miss_score=joined["max_dropped_confidence"].fillna(0.0).to_numpy(dtype=float),
        n_true=np.asarray(n_true, dtype=int),
    )


def effective_size(successes: np.ndarray, totals: np.ndarray) -> float:
    """Effective number of independent trials behind ``sum(successes) / sum(totals)`` when
    trials come in clusters (one cluster per image), see the module docstring."""
    totals = np.asarray(totals, dtype=float)
    successes = np.asarray(successes, dtype=float)
    keep = totals > 0
    totals, successes = totals[keep], successes[keep]
    n = float(totals.sum())
    if n == 0:
        return 0.0
    kish = n * n / float((totals**2).sum())  # all trials of a cluster alike
    p = float(successes.sum()) / n
    m = len(totals)
    if m < 2 or p in (0.0, 1.0):
        return kish
    variance = m / (m - 1) * float(((successes - p * totals) ** 2).sum()) / (n * n)
    if variance <= 0:
        return n
    return float(np.clip(p * (1 - p) / variance, kish, n))


def clustered_lower_bound(successes: np.ndarray, totals: np.ndarray, alpha: float) -> float:
    """One-sided (1 - alpha) Clopper–Pearson lower bound of a clustered proportion at its
    effective size (Korn & Graubard 1998); 0 when there are no trials or no successes."""
    n = float(np.sum(totals))
    k = float(np.sum(successes))
    if n == 0 or k == 0:
        return 0.0
    n_eff = effective_size(successes, totals)
    k_eff = k / n * n_eff
    return float(betaincinv(k_eff, n_eff - k_eff + 1, alpha))


@dataclass(frozen=True)
class BoxGateResult:
    """The box-level gate's decision. ``threshold`` is the box threshold (None: accept
    nothing); ``accuracy``/``lower_bound`` are the accepted images' box precision and its
    bound, so code written for :class:`labelgate.gate.GateResult` reads it the same way."""

    threshold: float | None
    miss_threshold: float | None
    n_calibration: int  # calibration images
    n_accepted: int  # calibration images the rule accepts
    accuracy: float | None  # box precision of the accepted calibration images
    lower_bound: float | None
    recall: float | None
    recall_lower_bound: float | None
    target: float
    target_recall: float
    confidence_level: float
    reviews_needed: int
    reason: str
    criterion: str = "box"
    box_scan: list[dict[str, Any]] = field(default_factory=list)
    miss_scan: list[dict[str, Any]] = field(default_factory=list)

    def to_metadata(self) -> dict[str, Any]:
        return _json_safe(asdict(self))


def box_gate(
    evidence: BoxEvidence,
    *,
    target_precision: float,
    target_recall: float,
    confidence_level: float,
    step_fraction: float = 0.02,
) -> BoxGateResult:
    """Box and miss thresholds whose accepted images meet both targets (module docstring)."""
    for name, value in (
        ("target_precision", target_precision),
        ("target_recall", target_recall),
        ("confidence_level", confidence_level),
    ):
        if not 0 < value < 1:
            raise ValueError(f"{name} must be strictly between 0 and 1, got {value}")
    alpha = 1.0 - confidence_level
    n_start = min_sample_for_accuracy((1 + target_precision) / 2, target_precision, alpha)
    base = {
        "n_calibration": evidence.n_images,
        "target": target_precision,
        "target_recall": target_recall,
        "confidence_level": confidence_level,
    }
    goal = (
        f"{target_precision:.1%} box precision and {target_recall:.1%} recall at "
        f"{confidence_level:.0%} confidence"
    )
    box_scan, t = _scan_box_threshold(evidence, target_precision, alpha, n_start, step_fraction)
    if t is None:
        return BoxGateResult(
            None, None, n_accepted=0, accuracy=None, lower_bound=None, recall=None,
            recall_lower_bound=None, reviews_needed=_more(evidence, n_start),
            reason=_why_not(box_scan, evidence, n_start, "box precision", goal),
            box_scan=box_scan, **base,
        )  # fmt: skip
    miss_scan, best = _scan_miss_threshold(
        evidence, t, target_precision, target_recall, alpha, n_start, step_fraction
    )
    if best is None:
        return BoxGateResult(  # the box threshold alone admits nothing: see box_scan
            None, None, n_accepted=0, accuracy=None, lower_bound=None, recall=None,
            recall_lower_bound=None, reviews_needed=_more(evidence, n_start),
            reason=_why_not(miss_scan, evidence, n_start, "recall", goal),
            box_scan=box_scan, miss_scan=miss_scan, **base,
        )  # fmt: skip
    return BoxGateResult(
        t,
        best["miss_threshold"],
        n_accepted=best["images"],
        accuracy=best["precision"],
        lower_bound=best["precision_lower_bound"],
        recall=best["recall"],
        recall_lower_bound=best["recall_lower_bound"],
        reviews_needed=0,
        reason=(
            f"Auto-accepting images whose boxes all have confidence >= {t:.4f} and whose "
            f"highest dropped candidate is <= {best['miss_threshold']:.4f}: on "
            f"{best['images']} calibration images, box precision {best['precision']:.1%} "
            f"(lower bound {best['precision_lower_bound']:.1%}) and recall "
            f"{best['recall']:.1%} (lower bound {best['recall_lower_bound']:.1%}) meet {goal}."
        ),
        box_scan=box_scan,
        miss_scan=miss_scan,
        **base,
    )


def image_accept_mask(
    box_confidences: list[np.ndarray], miss_score: np.ndarray, result: BoxGateResult
) -> np.ndarray:
    """Images the gate auto-accepts: all boxes >= threshold, miss score <= miss threshold."""
    miss = np.asarray(miss_score, dtype=float)
    if result.threshold is None or result.miss_threshold is None:
        return np.zeros(len(miss), dtype=bool)
    boxes_ok = np.array(
        [bool(np.all(np.asarray(c) >= result.threshold)) for c in box_confidences], dtype=bool
    )
    return boxes_ok & (miss <= result.miss_threshold)


def _scan_box_threshold(
    ev: BoxEvidence, target: float, alpha: float, n_start: int, step_fraction: float
) -> tuple[list[dict[str, Any]], float | None]:
    """Box threshold over the calibration images whose boxes all clear it (high to low)."""
    least = ev.min_confidence()
    per_image_n = np.bincount(ev.image, minlength=ev.n_images)
    per_image_k = np.bincount(ev.image[ev.correct], minlength=ev.n_images)
    with_boxes = np.sort(least[np.isfinite(least)])[::-1]
    scan: list[dict[str, Any]] = []
    best: float | None = None
    for t in _grid(with_boxes, step_fraction):
        chosen = least >= t
        n, k = per_image_n[chosen], per_image_k[chosen]
        if n.sum() < n_start or (chosen & np.isfinite(least)).sum() < START_FRACTION * len(
            with_boxes
        ):
            continue  # the first test must be big enough to pass (decided without labels)
        lb = clustered_lower_bound(k, n, alpha)
        row = {"threshold": float(t), "boxes": int(n.sum()), "correct": int(k.sum())}
        row.update(precision=int(k.sum()) / int(n.sum()), lower_bound=lb)
        row.update(effective_boxes=effective_size(k, n), passed=lb >= target)
        scan.append(row)
        if not row["passed"]:
            break
        best = float(t)
    return scan, best


def _scan_miss_threshold(
    ev: BoxEvidence,
    t: float,
    target_precision: float,
    target_recall: float,
    alpha: float,
    n_start: int,
    step_fraction: float,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    eligible = ev.min_confidence() >= t  # every box clears t (or the image has none)
    per_image_n = np.bincount(ev.image, minlength=ev.n_images)
    per_image_k = np.bincount(ev.image[ev.correct], minlength=ev.n_images)
    found = ev.found_at(t)
    scores = np.sort(ev.miss_score[eligible])
    scan: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    for u in _grid(scores, step_fraction):
        chosen = eligible & (ev.miss_score <= u)
        size = int(per_image_n[chosen].sum())
        if chosen.sum() < max(2, START_FRACTION * eligible.sum()) or size < n_start:
            continue  # as above: the first test is sized from the confidences alone
        k, n = per_image_k[chosen], per_image_n[chosen]
        hits, truth = found[chosen], ev.n_true[chosen]
        precision_lb = clustered_lower_bound(k, n, alpha) if size else 1.0
        recall_lb = clustered_lower_bound(hits, truth, alpha) if truth.sum() else 1.0
        row = {
            "miss_threshold": float(u),
            "images": int(chosen.sum()),
            "precision": float(k.sum() / n.sum()) if size else 1.0,
            "precision_lower_bound": precision_lb,
            "recall": float(hits.sum() / truth.sum()) if truth.sum() else 1.0,
            "recall_lower_bound": recall_lb,
        }
        row["passed"] = precision_lb >= target_precision and recall_lb >= target_recall
        scan.append(row)
        if not row["passed"]:
            break
        best = row
    return scan, best


def _grid(sorted_values: np.ndarray, step_fraction: float) -> list[float]:
    """Every step-th value of a sorted array plus its last, without repeats."""
    n = len(sorted_values)
    step = max(1, round(step_fraction * n))
    idx = list(range(step - 1, n, step))
    if n and (not idx or idx[-1] != n - 1):
        idx.append(n - 1)
    return list(dict.fromkeys(float(sorted_values[i]) for i in idx))


def _kish(per_image: np.ndarray) -> float:
    totals = np.asarray(per_image, dtype=float)
    square = float((totals**2).sum())
    return float(totals.sum()) ** 2 / square if square else 0.0


def _more(ev: BoxEvidence, n_start: int) -> int:
    """Rough extra calibration images: enough for ``n_start`` effective boxes, at least 1."""
    mean_boxes = len(ev.confidence) / ev.n_images if ev.n_images else 1.0
    images_needed = math.ceil(n_start / max(1.0, math.sqrt(mean_boxes)))
    return max(1, images_needed - ev.n_images)


def _why_not(
    scan: list[dict[str, Any]], ev: BoxEvidence, n_start: int, what: str, goal: str
) -> str:
    if not scan:
        return (
            f"Only {ev.n_images} calibration images ({len(ev.confidence)} auto boxes): the "
            f"first test needs about {n_start} effective boxes to show {goal}. About "
            f"{_more(ev, n_start)} more random calibration reviews are needed."
        )
    first = scan[0]
    bounds = ", ".join(
        f"{name} lower bound {first[key]:.1%}"
        for name, key in (
            ("precision", "lower_bound"),
            ("precision", "precision_lower_bound"),
            ("recall", "recall_lower_bound"),
        )
        if key in first
    )
    return (
        f"No threshold passed on {what}: the first test's {bounds}, short of {goal}. More "
        "random calibration reviews or better labelers are needed."
    )
