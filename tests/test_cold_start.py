"""Cold start (issue 11, item 5): a detection project whose pretrained detector maps to none of
its classes. Before any student exists every image is blind (confidence 0) and goes to review;
once a student labels the class, the blind teacher abstains instead of halving its boxes and
the box gate auto-accepts images, measured against the true boxes.

The first test is domain-level and fast (a simulated student); the second runs the real
pipeline with the real COCO detector as the blind teacher up to the first trained student
(slow: about 90 s; one epoch at imgsz 64, so the student is not expected to be good)."""

import shutil
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from labelgate.governance.approval import decide
from labelgate.governance.signing import public_key_line
from labelgate.images.boxes import Boxes, match_boxes
from labelgate.images.demo_data import truth_in_project_classes, write_shapes
from labelgate.images.demo_review import simulate_box_reviews
from labelgate.images.gate import detection_accept_mask, run_detection_gate
from labelgate.images.labeling import consolidate
from labelgate.images.project import ImageProjectData
from labelgate.models.registry import ModelRegistry
from labelgate.project import ACCEPTED_LABELS, AUTO_LABELS, REVIEW_QUEUE
from labelgate.spec import GateSpec
from tests.conftest import shared_data
from tests.image_projects import write_detection_project
from tests.signing_keys import demo_key

SHAPE_NAMES = ["disc", "bar", "block"]  # write_shapes' classes 0, 1, 2


def _student_boxes(truth: Boxes, rng: np.random.Generator) -> list[dict]:
    """A decent student: finds 95% of the discs (confidence 0.6-0.95, slightly moved) and
    adds a false disc to 5% of images."""
    out = []
    for box, label in zip(truth.xyxy, truth.labels, strict=True):
        if rng.random() < 0.95:
            shift = rng.normal(0, 0.005, 4)
            x1, y1, x2, y2 = np.clip(box + shift, 0, 1)
            out.append({"label": str(label), "x1": x1, "y1": y1, "x2": x2, "y2": y2,
                        "confidence": float(rng.uniform(0.6, 0.95))})  # fmt: skip
    if rng.random() < 0.05:
        out.append({"label": "disc", "x1": 0.0, "y1": 0.0, "x2": 0.05, "y2": 0.05,
                    "confidence": float(rng.uniform(0.3, 0.6))})  # fmt: skip
    return out


def test_blind_teacher_abstains_and_the_student_is_gated_against_the_truth() -> None:
    rng = np.random.default_rng(0)
    n = 600
    truth = {}
    for i in range(n):
        k = int(rng.integers(0, 4))
        x = rng.uniform(0.0, 0.8, k)
        truth[f"i{i}"] = Boxes(
            np.column_stack([x, np.full(k, 0.1), x + 0.1, np.full(k, 0.2)])
            if k
            else np.zeros((0, 4)),
            np.array(["disc"] * k, dtype=object),
            np.ones(k),
        )
    # discs in one row: keep only those that do not overlap (the truth stays unambiguous)
    truth = {i: b.subset(_non_overlapping(b)) for i, b in truth.items()}
    rows = []
    for item_id, boxes in truth.items():
        rows.append({"item_id": item_id, "labeler": "yolo", "labeler_version": "coco",
                     "boxes": [], "error": None, "classes": []})  # fmt: skip
        rows.append({"item_id": item_id, "labeler": "champion", "labeler_version": "v1",
                     "boxes": _student_boxes(boxes, rng), "error": None,
                     "classes": ["disc"]})  # fmt: skip
    candidates = pd.DataFrame(rows)
    teacher_only = consolidate(candidates[candidates["labeler"] == "yolo"], box_threshold=0.25,
                               batch="b")  # fmt: skip
    assert (teacher_only["confidence"] == 0.0).all()  # blind: everything goes to review

    auto = consolidate(candidates, box_threshold=0.25, batch="b")
    kept = [b["confidence"] for bs in auto["boxes"] for b in bs]
    assert min(kept) >= 0.3  # not halved by the teacher that cannot see discs

    ids = sorted(truth)
    calibration = [ids[i] for i in rng.choice(n, 200, replace=False)]
    reviewed = pd.DataFrame(
        {"item_id": calibration, "boxes": [truth[i].to_records() for i in calibration],
         "purpose": "calibration"}
    )  # fmt: skip
    gate = GateSpec(target_accuracy=0.85, confidence=0.9, target_recall=0.85)
    result = run_detection_gate(auto, reviewed, gate)
    pending = auto[~auto["item_id"].isin(calibration)]
    accepted = pending[detection_accept_mask(pending, result)]
    assert len(accepted) > 0.3 * len(pending), result.reason
    matched = kept_boxes = true_boxes = 0
    for item_id, boxes in zip(accepted["item_id"], accepted["boxes"], strict=True):
        match = match_boxes(Boxes.from_records(boxes), truth[item_id])
        matched += len(match.pairs)
        kept_boxes += len(boxes)
        true_boxes += len(truth[item_id])
    assert matched / kept_boxes >= 0.85 and matched / true_boxes >= 0.85


def _non_overlapping(boxes: Boxes) -> np.ndarray:
    keep = np.ones(len(boxes), dtype=bool)
    for i in range(len(boxes)):
        for j in range(i):
            if (
                keep[j]
                and boxes.xyxy[i, 0] < boxes.xyxy[j, 2]
                and boxes.xyxy[j, 0] < boxes.xyxy[i, 2]
            ):
                keep[i] = False
    return keep


@pytest.mark.slow
def test_cold_start_queues_everything_then_trains_the_first_student(tmp_path: Path) -> None:
    from labelgate_cli.model_runs import run_training
    from labelgate_cli.runner import import_reviews, publish, run_project
    from resources.encoder import TextEncoderResource

    teacher = shared_data("yolov8n_int8_openvino_model")  # COCO: knows no disc, bar or block
    stems = write_shapes(tmp_path / "shapes", 60, seed=3, size=96)
    inbox = tmp_path / "inbox" / "b1"
    inbox.mkdir(parents=True)
    for stem in stems:
        shutil.copy(tmp_path / "shapes" / "images" / f"{stem}.png", inbox / f"{stem}.png")
    (tmp_path / "identities.yaml").write_text(
        "identities:\n  - {name: alice, roles: [reviewer], emails: [alice@bank.example]}\n"
        f"  - {{name: dana, roles: [steward], public_key: '{public_key_line(demo_key('dana'))}'}}\n"
    )
    spec = write_detection_project(
        tmp_path,
        name="shapes",
        classes={"disc": "a red disc"},
        labelers=[{"type": "yolo", "path": str(teacher), "imgsz": 96}],
        review={"calibration_size": 40, "uncertain_size": 5, "folder": "reviews"},
        training={"epochs": 1, "imgsz": 64, "batch_size": 16, "eval_fraction": 0.3},
        governance={"identities": "identities.yaml"},
    )
    data = ImageProjectData(spec)
    truth = truth_in_project_classes(
        tmp_path / "shapes" / "labels", stems, SHAPE_NAMES, {"disc": "disc"}
    )
    encoder = TextEncoderResource(kind="hashing")
    with dg.instance_for_test() as instance:
        run_project(spec, instance=instance, encoder=encoder)
        auto = data.tables.read_all(AUTO_LABELS)
        assert (auto["confidence"] == 0.0).all()  # the teacher is blind to every class
        queue = data.tables.read(REVIEW_QUEUE)
        assert (queue["purpose"] == "calibration").sum() == 40
        assert (data.tables.read(ACCEPTED_LABELS)["source"] == "auto").sum() == 0

        answers = tmp_path / "answers.json"
        tasks = data.queue_dir / "label_studio_tasks.json"
        assert simulate_box_reviews(tasks, data.image_items(), truth, answers) == 45
        import_reviews(spec, [str(answers)], instance=instance, encoder=encoder)
        publish(spec, instance=instance, encoder=encoder)
        decide(spec, 1, actor="dana", key=demo_key("dana"))  # four-eyes: dana reviewed nothing

        run = run_training(spec, instance=instance, encoder=encoder)
    (card,) = ModelRegistry(spec).list()
    assert card.method == "yolo" and card.n_train >= 20  # the first student, from reviews
    assert run.trained["model_id"] == card.model_id
    # It is scored against the blind teacher (mAP50 0 on the evaluation images), never
    # against nothing; a one-epoch student that finds no disc is rightly not promoted.
    assert "teacher" in str(run.decision.get("reason"))
