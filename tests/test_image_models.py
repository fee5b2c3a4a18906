"""Image projects get the model side text has (issue 11, item 2): box churn at IoU 0.5, drift
of the boxes' class distribution, cleanlab label issues from image-classification
probabilities, a champion that scores each image once, the champion sensor and schedule,
and ``labelgate models promote|relabel``. Fast: a fake YOLO (tests/fake_yolo.py) stands in
for ultralytics."""

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from labelgate.drift import check_drift
from labelgate.models.box_churn import BOX_CHURN, box_label_state
from labelgate.models.churn import compute_churn
from labelgate.models.config import DriftSpec
from labelgate.models.issues import probability_label_issues
from labelgate.models.monitor import _labels


def _box(label: str, x: float, confidence: float = 0.9) -> dict:
    return {"label": label, "x1": x, "y1": 0.1, "x2": x + 0.2, "y2": 0.3, "confidence": confidence}


def _state(boxes: dict[str, list[dict]], champion: str) -> pd.DataFrame:
    auto = pd.DataFrame({"item_id": list(boxes), "boxes": list(boxes.values())})
    teacher = [_box("pill", 0.10, 0.4)]  # the same in every run
    candidates = pd.DataFrame(
        [
            {"item_id": i, "labeler": name, "labeler_version": version, "boxes": b, "error": None}
            for i, own in boxes.items()
            for name, version, b in (("yolo", "coco", teacher), ("champion", champion, own))
        ]
    )
    return box_label_state(auto, candidates)


def test_box_churn_counts_images_whose_box_set_changes_at_iou_half() -> None:
    before = _state(
        {
            "a": [_box("pill", 0.10)],
            "b": [_box("pill", 0.10)],
            "c": [_box("pill", 0.10)],
            "d": [_box("pill", 0.10)],
            "e": [],
        },
        "v1",
    )
    after = _state(
        {
            "a": [_box("pill", 0.11, 0.5)],  # moved a little, other confidence: same object
            "b": [_box("pill", 0.10), _box("tablet", 0.60)],  # a box more
            "c": [_box("tablet", 0.10)],  # other class
            "d": [_box("pill", 0.60)],  # moved off its object (IoU 0)
            "e": [],
            "f": [_box("pill", 0.30)],  # new image
        },
        "v2",
    )
    reviewed = pd.DataFrame(
        {
            "item_id": ["c", "d"],
            "boxes": [[_box("tablet", 0.10, 1.0)], [_box("pill", 0.10, 1.0)]],
        }
    )
    churn = compute_churn("b1", before, after, reviewed, kind=BOX_CHURN)
    assert sorted(churn.flips["item_id"]) == ["b", "c", "d"]
    assert churn.rate == pytest.approx(3 / 5)  # f is new: not compared
    assert churn.new_items == 1 and churn.rescored == 6 and churn.previous_champions == ["v1"]
    assert churn.flips_by_class() == {
        "pill": {"lost": 2, "gained": 1},
        "tablet": {"lost": 0, "gained": 2},
    }
    flips = churn.flips.set_index("item_id")
    # the human agrees with c's new box, not with d's: only d goes back to review
    assert flips["to_review"].to_dict() == {"b": False, "c": False, "d": True}
    assert flips.loc["c", "old_label"] == "1 box(es): pill x1"
    assert flips.loc["c", "new_label"] == "1 box(es): tablet x1"
    assert flips.loc["b", "causes"] == "champion"  # the teacher's boxes did not change
    assert compute_churn("b1", after, after, reviewed, kind=BOX_CHURN).flipped == 0


def test_box_churn_sees_a_box_dropped_or_added_on_an_empty_image() -> None:
    empty, one = json.dumps([]), json.dumps([_box("pill", 0.1)])
    assert BOX_CHURN.changed(empty, one) and BOX_CHURN.changed(one, empty)
    assert BOX_CHURN.class_delta(one, empty) == {"pill": (1, 0)}
    assert not BOX_CHURN.changed(one, one)


def test_detection_drift_compares_the_class_distribution_of_boxes() -> None:
    approved = pd.DataFrame({"boxes": [[_box("pill", 0.1), _box("pill", 0.5)]] * 20})
    same = pd.DataFrame({"boxes": [[_box("pill", 0.1)], []] * 20, "confidence": 0.9})
    shifted = pd.DataFrame({"boxes": [[_box("tablet", 0.1)], [_box("pill", 0.1)]] * 20})
    bounds = DriftSpec(min_items=10)
    base = _labels(approved)
    assert base == ["pill"] * 40
    ok = check_drift(_labels(same), [0.9] * 40, base, [0.9] * 20, ["pill", "tablet"], bounds,
                     per_item=False)  # fmt: skip
    assert ok.passed and ok.items == 40  # images, not boxes
    moved = check_drift(_labels(shifted), [0.9] * 40, base, [0.9] * 20, ["pill", "tablet"],
                        bounds, per_item=False)  # fmt: skip
    assert not moved.passed and moved.class_shift == pytest.approx(0.5)
    with pytest.raises(ValueError, match="differ in length"):
        check_drift(["pill"] * 3, [0.9], base, None, ["pill", "tablet"], bounds)


def test_image_classification_label_issues_come_from_the_auto_label_probabilities() -> None:
    data = SimpleNamespace(  # the project data the function reads
        spec=SimpleNamespace(class_names=["cat", "dog"], training=None),
        # i0 was already looked at twice
        reviews=SimpleNamespace(all_reviews=lambda: pd.DataFrame({"item_id": ["i0", "i0"]})),
        tables=SimpleNamespace(exists=lambda name: False),
    )

    n = 40
    truth = np.array(["cat", "dog"] * (n // 2), dtype=object)
    probs = [np.array([0.95, 0.05]) if t == "cat" else np.array([0.05, 0.95]) for t in truth]
    auto = pd.DataFrame({"item_id": [f"i{i}" for i in range(n)], "probs": probs})
    given = truth.copy()
    wrong = [0, 3, 10]  # humans mislabeled these
    for i in wrong:
        given[i] = "dog" if given[i] == "cat" else "cat"
    reviewed = pd.DataFrame({"item_id": auto["item_id"], "label": given})
    issues = probability_label_issues(data, reviewed, auto)  # type: ignore[arg-type]
    # i0 is wrong too, but its second review stands
    assert sorted(issues["item_id"]) == ["i10", "i3"]
    assert set(issues["suggested_label"]) == {truth[3], truth[10]}
