"""Image projects get what text projects have (issue 11, item 4): never-trained-on gate
evidence, abstaining labelers, ledger rows, scaled evaluation minimums, named reviewers, the
real gate in the datasheet, and CLI commands that work (the slow test at the end)."""

import json
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from labelgate.embeddings import CachedEmbedder, HashingEncoder
from labelgate.errors import ReviewFileError
from labelgate.images.boxes import Boxes
from labelgate.images.export import image_export_frame
from labelgate.images.fusion import fuse_boxes
from labelgate.images.gate import run_detection_gate
from labelgate.images.label_sets import project_gate
from labelgate.images.labeling import DETECTION_CANDIDATE_SCHEMA, consolidate
from labelgate.images.recording import detection_candidate_rows
from labelgate.images.reviews import read_box_answers
from labelgate.label_sets.datasheet import render_datasheet
from labelgate.ledger import Ledger
from labelgate.ledger.events import ITEM_INGESTED, LABEL_PROPOSED, THRESHOLD_CHOSEN
from labelgate.models.config import TrainingSpec
from labelgate.models.image_service import CHAMPION_SOURCE, in_sample_items
from labelgate.models.registry import TRAIN_ITEMS, ModelCard, ModelRegistry
from labelgate.models.training import TrainingData, train_model
from labelgate.spec import GateSpec, ProjectSpec
from labelgate_cli.app import app
from labelgate_cli.models import card_scores, training_summary
from tests.conftest import ProjectFactory, shared_data
from tests.image_projects import STREET_ONTOLOGY, coco8_truth, copy_coco8, write_detection_project


def _box(x: float, label: str = "pill", confidence: float = 1.0) -> dict[str, Any]:
    return {"label": label, "x1": x, "y1": 0.1, "x2": x + 0.05, "y2": 0.2, "confidence": confidence}


def detection_project(tmp_path: Path, **extra: Any) -> ProjectSpec:
    (tmp_path / "inbox").mkdir(exist_ok=True)
    options: dict[str, Any] = {
        "name": "pills",
        "classes": {"pill": "a pill"},
        "labelers": [{"type": "yolo", "path": "teacher.pt"}],
        "training": {"min_eval_items": 1},
        **extra,
    }
    return write_detection_project(tmp_path, **options)


def yolo_card(model_id: str = "v1-yolo-aaaa") -> ModelCard:
    return ModelCard(
        model_id=model_id, project="pills", method="yolo", label_set_version=1,
        label_set_hash="h", hyperparameters={}, encoder="yolov8n.yaml", classes=["pill"],
        n_train=20, n_train_human=20, n_eval=10,
        metrics={"val_map50": 0.9220, "val_map50_95": 0.61}, training_seconds=1.0,
        trained_at="2026-01-01T00:00:00+00:00", fingerprint="f",
    )  # fmt: skip


# --- the gate never calibrates on images the student trained on ---------------------------


def test_detection_gate_leaves_out_images_the_champion_trained_on(tmp_path: Path) -> None:
    spec = detection_project(tmp_path)
    trained = [f"t{i}" for i in range(150)]
    fresh = [f"f{i}" for i in range(150)]

    def build(folder: Path) -> None:
        pd.DataFrame({"item_id": trained, "source": "human"}).to_parquet(folder / TRAIN_ITEMS)

    ModelRegistry(spec).add(yolo_card(), build)
    versions = json.dumps({"yolo": "abc", CHAMPION_SOURCE: "v1-yolo-aaaa"})
    right = [_box(0.1, confidence=0.9)]
    auto = pd.DataFrame(
        {"item_id": trained + fresh, "boxes": [right] * 300, "confidence": 0.9,
         "max_dropped_confidence": 0.0, "labeler_versions": versions}
    )  # fmt: skip
    reviewed = pd.DataFrame(
        {"item_id": trained + fresh, "boxes": [right] * 300, "purpose": "calibration"}
    )
    in_sample = in_sample_items(spec, auto)
    assert in_sample == set(trained)
    gate = GateSpec(target_accuracy=0.9, confidence=0.9)
    assert run_detection_gate(auto, reviewed, gate, in_sample=in_sample).n_calibration == 150
    teacher_only = auto.assign(labeler_versions=json.dumps({"yolo": "abc"}))
    assert in_sample_items(spec, teacher_only) == set()  # the teacher trained on none


# --- a labeler that cannot produce a class abstains on it ---------------------------------


def test_detector_that_knows_no_project_class_abstains_in_fusion() -> None:
    student = Boxes.from_records([_box(0.1, confidence=0.8)])
    teacher = Boxes.empty()  # its ontology maps to no project class: it cannot see pills
    fused = fuse_boxes(
        [("champion", student), ("yolo", teacher)], box_threshold=0.25, capable=[None, set()]
    )
    assert fused.kept.confidence.tolist() == pytest.approx([0.8])  # not halved to 0.4
    knows = fuse_boxes(
        [("champion", student), ("yolo", teacher)], box_threshold=0.25, capable=[None, {"pill"}]
    )
    assert knows.kept.confidence.tolist() == pytest.approx([0.4])  # it could have, and did not


def test_image_no_labeler_can_label_is_never_confident() -> None:
    candidates = pd.DataFrame(
        {"item_id": ["a"], "labeler": ["yolo"], "labeler_version": ["v"], "boxes": [[]],
         "error": [None], "classes": [[]]}
    )  # fmt: skip
    (row,) = consolidate(candidates, box_threshold=0.25, batch="b").itertuples()
    assert row.n_boxes == 0 and row.confidence == 0.0 and row.max_dropped_confidence == 1.0


# --- ledger rows for detection candidates -------------------------------------------------


def test_detection_candidates_become_label_proposed_rows(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"item_id": ["a", "b"], "labeler": "yolo", "labeler_version": "v1",
         "boxes": [[_box(0.1, confidence=0.912345678)], []], "error": [None, "bad file"],
         "classes": [["pill"], ["pill"]]}
    )  # fmt: skip
    path = tmp_path / "c.parquet"
    frame.to_parquet(path, schema=DETECTION_CANDIDATE_SCHEMA)
    rows = list(detection_candidate_rows(path, "batch1"))
    assert [r[0] for r in rows] == [LABEL_PROPOSED, LABEL_PROPOSED]
    assert [r[2] for r in rows] == ["a", "b"]
    first = rows[0][1]
    assert first["label"] == "1 box(es): pill x1" and first["boxes"][0]["confidence"] == 0.9123
    assert rows[1][1]["error"] == "bad file"
    assert rows[0][3] == "proposed:a:yolo:v1"  # recorded once per item, source and version


# --- evaluation minimums scale with the project ---------------------------------------------


def test_min_eval_items_scales_with_the_label_set() -> None:
    scaled = TrainingSpec()
    assert scaled.eval_minimum(115) == 6  # the 115-image pill project: reachable
    assert scaled.eval_minimum(10) == 5
    assert scaled.eval_minimum(10_000) == 20
    assert TrainingSpec(min_eval_items=12).eval_minimum(10_000) == 12


def test_small_text_project_trains_with_the_scaled_minimum(make_project: ProjectFactory) -> None:
    spec = make_project(training={"method": "head", "oof_folds": 2})
    rng = np.random.default_rng(1)
    classes = spec.class_names[:2]
    n = 60
    labels = pd.DataFrame(
        {
            "item_id": [f"{i:016x}" for i in range(n)],
            "label": [classes[i % 2] for i in range(n)],
            "source": "human",
            "text": [f"{classes[i % 2]} word{rng.integers(100)}" for i in range(n)],
        }
    )
    card, _ = train_model(
        spec, TrainingData(1, "small", labels), CachedEmbedder(HashingEncoder(), None)
    )
    assert 5 <= card.n_eval < 20  # the old fixed minimum of 20 would have refused this


# --- reviewers are identities, not folder names ---------------------------------------------


def test_yolo_and_coco_answers_need_a_named_reviewer(tmp_path: Path) -> None:
    image = tmp_path / "img1.jpg"
    image.write_bytes(b"x")
    items = pd.DataFrame({"item_id": ["a"], "path": [str(image)], "width": [10], "height": [10]})
    folder = tmp_path / "answers"
    folder.mkdir()
    (folder / "img1.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    with pytest.raises(ReviewFileError, match="--reviewer"):
        read_box_answers(folder, items=items, class_names=["pill"])
    read = read_box_answers(folder, items=items, class_names=["pill"], reviewer="annotator")
    assert read["reviewer"].tolist() == ["annotator"]
    coco = tmp_path / "coco.json"
    coco.write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    with pytest.raises(ReviewFileError, match="--reviewer"):
        read_box_answers(coco, items=items, class_names=["pill"])


# --- the datasheet and manifest state the project's gate ------------------------------------


def test_datasheet_states_the_box_gate_of_the_project(tmp_path: Path) -> None:
    spec = detection_project(tmp_path, gate={"target_accuracy": 0.75, "confidence": 0.9})
    gate = project_gate(spec)
    assert gate["criterion"] == "box" and gate["target"] == 0.75
    assert gate["confidence_level"] == 0.9 and gate["target_recall"] == 0.75
    manifest = {
        "project": "pills", "version": 1, "created_at": "t", "content_sha256": "s",
        "project_file": {"path": "p.yaml", "sha256": "x"}, "unit": "boxes", "rows": 3,
        "gate": {**gate, "threshold": 0.3, "miss_threshold": 0.2, "n_accepted": 40,
                 "n_calibration": 42, "accuracy": 0.97, "lower_bound": 0.93, "recall": 0.91,
                 "recall_lower_bound": 0.86},
    }  # fmt: skip
    sheet = render_datasheet(manifest)
    assert "box precision >= 75.0% and recall >= 75.0% at 90% confidence" in sheet
    assert "lower bound 93.0%" in sheet and "recall 91.0%" in sheet
    assert "target accuracy -" not in sheet


# --- exports and the models CLI --------------------------------------------------------------


def test_image_export_frame_is_a_flat_table() -> None:
    accepted = pd.DataFrame(
        {"item_id": ["b", "a"], "boxes": [[_box(0.1)], []], "n_boxes": [1, 0],
         "source": ["auto", "human"], "confidence": [0.9, 1.0], "labeler_versions": "{}",
         "reviewer": [None, "ann"], "run_id": "r"}
    )  # fmt: skip
    items = pd.DataFrame({"item_id": ["a", "b"], "path": ["/x/a.jpg", "/x/b.jpg"]})
    frame = image_export_frame(accepted, items)
    assert frame["item_id"].tolist() == ["a", "b"]
    assert frame["label"].tolist() == ["0 box(es)", "1 box(es): pill x1"]
    assert json.loads(frame["boxes"].iloc[1])[0]["label"] == "pill"


def test_models_list_and_train_show_detection_metrics(tmp_path: Path) -> None:
    spec = detection_project(tmp_path)
    ModelRegistry(spec).add(yolo_card(), lambda folder: None)
    result = CliRunner().invoke(app, ["models", "list", str(spec.spec_path)])
    assert result.exit_code == 0, result.output
    assert "0.922" in result.output and "0.610" in result.output  # rich wraps the labels
    assert card_scores(yolo_card().metrics) == ("mAP50 0.922", "mAP50-95 0.610")
    line = training_summary(
        {"model_id": "v4-yolo-043d59d7"},
        {"map50": 0.922, "n_eval": 11},
        {"promoted": False, "reason": "mAP50 0.9220 < champion 0.9177 + margin 0.005"},
    )
    assert "mAP50 0.922 on 11 held-out reviewed images" in line
    assert "macro-F1" not in line and "accuracy" not in line


# --- the whole loop on real images: ledger rows and every CLI command -----------------------


@pytest.mark.slow
def test_image_project_ledger_and_cli_commands(tmp_path: Path) -> None:
    """coco8 through the real COCO detector (about 45 s): the ledger holds item_ingested and
    label_proposed rows for every image, and export (CSV), review export (CSV), trace (of a
    reviewed and an unreviewed image) and models list work on the image project."""
    from labelgate.images.demo_review import simulate_box_reviews
    from labelgate.images.project import ImageProjectData
    from labelgate.project import CANDIDATE_LABELS
    from labelgate_cli.runner import import_reviews, publish, run_project
    from resources.encoder import TextEncoderResource

    model = shared_data("yolov8n_int8_openvino_model")
    copy_coco8(tmp_path / "inbox")
    spec = detection_project(
        tmp_path,
        name="streets",
        classes={"person": "a person", "vehicle": "a road vehicle"},
        labelers=[{"type": "yolo", "path": str(model), "ontology": STREET_ONTOLOGY}],
        review={"calibration_size": 4, "uncertain_size": 2, "folder": "reviews"},
    )
    truth = coco8_truth()
    data, encoder = ImageProjectData(spec), TextEncoderResource(kind="hashing")
    with dg.instance_for_test() as instance:
        run_project(spec, instance=instance, encoder=encoder)
        answers = tmp_path / "answers.json"
        tasks = data.queue_dir / "label_studio_tasks.json"
        simulate_box_reviews(tasks, data.image_items(), truth, answers)
        import_reviews(spec, [str(answers)], instance=instance, encoder=encoder)
        publish(spec, instance=instance, encoder=encoder)

    ledger = Ledger.for_project(spec)
    items = set(data.image_items()["item_id"])
    assert {e.item_id for e in ledger.events(event=ITEM_INGESTED)} == items
    candidates = data.tables.read_all(CANDIDATE_LABELS)
    proposed = {(e.item_id, e.payload["labeler"]) for e in ledger.events(event=LABEL_PROPOSED)}
    assert proposed == set(zip(candidates["item_id"], candidates["labeler"], strict=True))
    assert ledger.events(event=THRESHOLD_CHOSEN)

    runner, project = CliRunner(), str(spec.spec_path)
    out = tmp_path / "out"
    exported = runner.invoke(app, ["export", project, "--format", "csv", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    table = pd.read_csv(out / "streets_accepted_labels.csv")
    assert set(table["item_id"]) <= items and "boxes" in table and "path" in table
    queue = runner.invoke(app, ["review", "export", project, "--out", str(out / "queue")])
    assert queue.exit_code == 0, queue.output
    assert "item_id" in (out / "queue" / "review_queue.csv").read_text()
    reviewed = str(table["item_id"].iloc[0])
    unreviewed = sorted(items - set(table["item_id"]))[0]
    for item, expected in ((reviewed, "review_decision"), (unreviewed, "label_proposed")):
        traced = runner.invoke(app, ["trace", item, "-p", project])
        assert traced.exit_code == 0, traced.output
        assert "item_ingested" in traced.output and expected in traced.output
    listed = runner.invoke(app, ["models", "list", project])
    assert listed.exit_code == 0 and "no trained models yet" in listed.output
