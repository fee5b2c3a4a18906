"""Image projects get the model side text has (issue 11, item 2): box churn at IoU 0.5, drift
of the boxes' class distribution, cleanlab label issues from image-classification
probabilities, a champion that scores each image once, the champion sensor and schedule,
and ``labelgate models promote|relabel``. Fast: a fake YOLO (tests/fake_yolo.py) stands in
for ultralytics."""

import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from labelgate.drift import check_drift
from labelgate.images.project import ImageProjectData
from labelgate.images.spec import YoloClsLabelerSpec
from labelgate.ledger import Ledger
from labelgate.ledger.events import MODEL_NOT_PROMOTED, MODEL_PROMOTED
from labelgate.models.box_churn import BOX_CHURN, box_label_state
from labelgate.models.churn import compute_churn
from labelgate.models.config import DriftSpec
from labelgate.models.image_service import WEIGHTS, champion_detector
from labelgate.models.issues import probability_label_issues
from labelgate.models.monitor import _labels
from labelgate.models.registry import TRAIN_ITEMS, ModelCard, ModelRegistry
from labelgate.models.relabel import relabel_plan
from labelgate.project import CANDIDATE_LABELS, RAW_ITEMS
from labelgate.spec import ProjectSpec
from labelgate_cli.app import app
from labelgate_cli.instance import get_instance
from labelgate_cli.runner import run_project
from pipelines.definitions import build_definitions
from resources.encoder import TextEncoderResource
from tests.fake_yolo import Box, install
from tests.image_projects import write_detection_project
from tests.test_models_loop import approve

BOX_KEYS = ("label", "x1", "y1", "x2", "y2", "confidence")


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


def test_champion_detector_scores_each_image_once_per_model(
    pills: tuple[ProjectSpec, Counter],
) -> None:
    spec, calls = pills
    paths = sorted(str(p) for p in (spec.source.path / "day1").glob("*.png"))
    add_student(spec, STUDENT_A)
    ModelRegistry(spec).set_champion(STUDENT_A, evidence={"forced_by": "test"})
    detector = champion_detector(spec)
    assert detector is not None and detector.version == STUDENT_A
    first, errors = detector.predict(paths[:5])
    again, _ = champion_detector(spec).predict(paths)  # a later run: a new detector
    assert calls[f"weights.pt@{STUDENT_A}"] == len(paths)  # 5, then only the 3 others
    assert errors == [""] * 5
    for cached, fresh in zip(again["champion"][:5], first["champion"], strict=True):
        assert cached.labels.tolist() == fresh.labels.tolist()  # float32 in the cache
        np.testing.assert_allclose(cached.xyxy, fresh.xyxy, atol=1e-6)
        np.testing.assert_allclose(cached.confidence, fresh.confidence, atol=1e-6)
    assert [len(b) for b in again["champion"]] == [len(_truth(i)) for i in range(N_IMAGES)]
    add_student(spec, STUDENT_B)
    ModelRegistry(spec).set_champion(STUDENT_B, evidence={"forced_by": "test"})
    champion_detector(spec).predict(paths)
    assert calls[f"weights.pt@{STUDENT_B}"] == len(paths)  # a new model scores everything


def test_champion_sensor_asks_for_a_relabel_of_batches_with_unscored_images(
    pills: tuple[ProjectSpec, Counter],
) -> None:
    spec, _ = pills
    data = ImageProjectData(spec)
    ids = [f"i{i}" for i in range(4)]
    data.tables.write(RAW_ITEMS, pd.DataFrame({"item_id": ids, "path": "x.png"}), "day1")

    def votes(labeler: str, version: str) -> pd.DataFrame:
        return pd.DataFrame(
            {"item_id": ids, "labeler": labeler, "labeler_version": version,
             "boxes": [[]] * 4, "error": None, "classes": [["pill"]] * 4}
        )  # fmt: skip

    data.tables.write(CANDIDATE_LABELS, votes("yolo", "coco"), "day1")
    defs = build_definitions([spec], encoder=ENCODER)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("pills__batches", ["day1"])
        assert _champion_tick(defs, instance) == []  # no champion event yet
        add_student(spec, STUDENT_A)
        _promote(spec, instance, STUDENT_A)
        (request,) = _champion_tick(defs, instance)
        assert request.partition_key == "day1" and request.job_name in (None, "pills__relabel")
        assert request.run_key == f"relabel:{STUDENT_A}:day1:4:0"
        scored = pd.concat([votes("yolo", "coco"), votes("champion", STUDENT_A)])
        data.tables.write(CANDIDATE_LABELS, scored, "day1")
        _promote(spec, instance, STUDENT_A)  # champion_model materialized again, same model
        assert _champion_tick(defs, instance) == []
        assert relabel_plan(spec).to_score == 0


def test_models_promote_on_an_image_project_scores_against_the_teacher(
    pills: tuple[ProjectSpec, Counter],
) -> None:
    spec, calls = pills
    version = approved_box_set(spec)
    for model_id in (STUDENT_A, STUDENT_B):
        add_student(spec, model_id, version)
    project = spec.spec_path
    out = invoke("models", "promote", project, STUDENT_A, "--encoder", "hashing")
    assert f"{STUDENT_A} promoted: mAP50 1.0000 >= teacher" in out
    assert ModelRegistry(spec).champion().model_id == STUDENT_A
    refused = invoke("models", "promote", project, STUDENT_B, "--encoder", "hashing", code=1)
    assert f"{STUDENT_B} not promoted" in refused and "< champion 1.0000" in refused
    assert ModelRegistry(spec).champion().model_id == STUDENT_A
    events = [e.event for e in Ledger.for_project(spec).events()]
    assert MODEL_PROMOTED in events and MODEL_NOT_PROMOTED in events
    assert "champion" in invoke("models", "list", project)
    assert calls["teacher.pt"] > 0  # the first student had to beat the teacher


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


# --- the loop through Dagster, with a fake YOLO -------------------------------------------

ENCODER = TextEncoderResource(kind="hashing")
N_IMAGES = 8


def _truth(i: int) -> list[Box]:
    """Image i: a pill at a position of its own (a tablet beside it on every third)."""
    x = 0.05 + 0.08 * i
    boxes: list[Box] = [("pill", x, 0.1, x + 0.2, 0.4, 0.9)]
    if i % 3 == 0:
        boxes.append(("tablet", x, 0.6, x + 0.2, 0.9, 0.9))
    return boxes


def _moved(i: int) -> list[Box]:
    """A second student that puts the pill of images 0 and 1 somewhere else."""
    if i > 1:
        return _truth(i)
    return [("pill", 0.7, 0.6, 0.95, 0.95, 0.9), *_truth(i)[1:]]


TEACHER = {f"img{i}.png": _truth(i) if i % 2 else [] for i in range(N_IMAGES)}  # finds half
STUDENT_A, STUDENT_B = "v1-yolo-aaaaaaaa", "v1-yolo-bbbbbbbb"
MODELS = {
    "teacher.pt": TEACHER,
    f"weights.pt@{STUDENT_A}": {f"img{i}.png": _truth(i) for i in range(N_IMAGES + 1)},
    f"weights.pt@{STUDENT_B}": {f"img{i}.png": _moved(i) for i in range(N_IMAGES + 1)},
}


def _image(folder: Path, i: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 16), (30 * i, 255 - 30 * i, 7)).save(folder / f"img{i}.png")


@pytest.fixture
def pills(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ProjectSpec, Counter]:
    calls = install(monkeypatch, MODELS)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    for i in range(N_IMAGES):
        _image(tmp_path / "inbox" / "day1", i)
    (tmp_path / "teacher.pt").write_bytes(b"teacher")
    spec = write_detection_project(
        tmp_path,
        name="pills",
        classes={"pill": "a pill", "tablet": "a tablet"},
        labelers=[{"type": "yolo", "path": str(tmp_path / "teacher.pt")}],
        review={"calibration_size": 2, "uncertain_size": 2, "folder": "reviews"},
        training={"eval_fraction": 0.6, "min_eval_items": 1, "imgsz": 64},
    )
    return spec, calls


def add_student(spec: ProjectSpec, model_id: str, label_set_version: int = 1) -> None:
    """A registered YOLO student (its weights a placeholder the fake YOLO answers for)."""
    card = ModelCard(
        model_id=model_id, project=spec.name, method="yolo",
        label_set_version=label_set_version, label_set_hash="h",
        hyperparameters={"imgsz": 64}, encoder="yolov8n.yaml", classes=spec.class_names,
        n_train=4, n_train_human=4, n_eval=4, metrics={"val_map50": 0.9, "val_map50_95": 0.6},
        training_seconds=1.0, trained_at="2026-01-01T00:00:00+00:00", fingerprint=model_id,
    )  # fmt: skip

    def build(folder: Path) -> None:
        (folder / WEIGHTS).write_bytes(model_id.encode())
        pd.DataFrame({"item_id": [], "source": []}).to_parquet(folder / TRAIN_ITEMS)

    ModelRegistry(spec).add(card, build)


def approved_box_set(spec: ProjectSpec) -> int:
    """Every image human-reviewed (its true boxes) in an approved box label set."""
    data = ImageProjectData(spec)
    paths = sorted((spec.source.path / "day1").glob("*.png"))
    ids = [f"img{i}" for i in range(len(paths))]
    items = pd.DataFrame({"item_id": ids, "path": [str(p) for p in paths], "width": 16,
                          "height": 16, "source_id": [p.name for p in paths]})  # fmt: skip
    data.tables.write(RAW_ITEMS, items, "day1")
    boxes = [[dict(zip(BOX_KEYS, b, strict=True)) for b in _truth(i)] for i in range(len(ids))]
    accepted = pd.DataFrame(
        {"item_id": ids, "boxes": boxes, "n_boxes": [len(b) for b in boxes], "source": "human",
         "confidence": 1.0, "labeler_versions": "{}", "reviewer": "annotator", "run_id": None}
    )  # fmt: skip
    return approve(spec, accepted)


def invoke(*args: object, code: int = 0) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return " ".join(result.output.split())


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    (event,) = [
        e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == asset
    ]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _champion_tick(defs: dg.Definitions, instance: dg.DagsterInstance) -> list[dg.RunRequest]:
    sensor = defs.resolve_sensor_def("pills__champion_sensor")
    context = dg.build_sensor_context(instance=instance, definitions=defs)
    with dg.partition_loading_context(dynamic_partitions_store=instance):
        return list(sensor.evaluate_tick(context).run_requests or [])


def _promote(spec: ProjectSpec, instance: dg.DagsterInstance, model_id: str) -> None:
    """A champion appears (as champion_model would leave it)."""
    ModelRegistry(spec).set_champion(model_id, evidence={"forced_by": "test"})
    key = dg.AssetKey(["pills", "champion_model"])
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key))


@pytest.mark.slow
def test_image_relabel_loop_through_dagster_and_the_cli(
    pills: tuple[ProjectSpec, Counter],
) -> None:
    """The real jobs (about 45 s): a new champion → the sensor's run re-scores every image
    once, the schedule then skips; the next champion's re-label (via the CLI) reports the two
    images whose boxes moved; a second re-label and a re-run score nothing; a new image in the
    folder is the only one the champion runs on."""
    spec, calls = pills
    with get_instance() as instance:  # the CLI's instance (DAGSTER_HOME)
        run_project(spec, instance=instance, encoder=ENCODER)
        assert calls == {"teacher.pt": N_IMAGES}
        defs = build_definitions([spec], encoder=ENCODER)
        relabel = defs.resolve_job_def("pills__relabel")

        add_student(spec, STUDENT_A)
        _promote(spec, instance, STUDENT_A)
        (request,) = _champion_tick(defs, instance)
        assert request.partition_key == "day1"
        run = relabel.execute_in_process(instance=instance, partition_key="day1")
        churn = _metadata(run, "churn_report")
        assert calls[f"weights.pt@{STUDENT_A}"] == N_IMAGES
        assert churn["rescored"] == N_IMAGES and churn["new_items"] == 0
        # the student adds the boxes the teacher missed on the even images: they flip
        assert churn["flipped"] == N_IMAGES // 2

        schedule = defs.resolve_schedule_def("pills__relabel_schedule")
        with dg.partition_loading_context(dynamic_partitions_store=instance):
            tick = schedule.evaluate_tick(dg.build_schedule_context(instance=instance))
        assert not tick.run_requests and "0 items to re-score" in tick.skip_message
        assert relabel_plan(spec).to_score == 0

        add_student(spec, STUDENT_B)
        _promote(spec, instance, STUDENT_B)
        (request,) = _champion_tick(defs, instance)
        out = invoke("models", "relabel", spec.spec_path, "--encoder", "hashing")
        assert f"champion {STUDENT_B}: {N_IMAGES} images scored in 1 batch(es), 2 labels" in out
        assert calls[f"weights.pt@{STUDENT_B}"] == N_IMAGES
        assert calls[f"weights.pt@{STUDENT_A}"] == N_IMAGES  # the old champion is not run
        assert "0 images scored in 0 batch(es)" in invoke(
            "models", "relabel", spec.spec_path, "--encoder", "hashing"
        )

        again = relabel.execute_in_process(instance=instance, partition_key="day1")
        assert _metadata(again, "churn_report")["rescored"] == 0
        assert calls[f"weights.pt@{STUDENT_B}"] == N_IMAGES  # all from its cache

        _image(spec.source.path / "day1", N_IMAGES)  # a new image in the folder
        label_batch = defs.resolve_job_def("pills__label_batch")
        label_batch.execute_in_process(instance=instance, partition_key="day1")
        assert calls[f"weights.pt@{STUDENT_B}"] == N_IMAGES + 1  # only the new one


def test_image_projects_get_the_model_definitions_their_modality_supports(
    pills: tuple[ProjectSpec, Counter], tmp_path: Path
) -> None:
    spec, _ = pills
    defs = build_definitions([spec], encoder=ENCODER)
    for job in ("relabel", "train_model"):
        assert defs.resolve_job_def(f"pills__{job}") is not None
    assert defs.resolve_schedule_def("pills__relabel_schedule").cron_schedule == "0 2 * * *"
    for sensor in ("champion_sensor", "approved_label_set_sensor", "after_relabel_sensor"):
        assert defs.resolve_sensor_def(f"pills__{sensor}") is not None
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"pills/churn_report", "pills/champion_model"} <= keys
    assert "pills/label_issues" not in keys  # no label-issue check for detection
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("pills/auto_labels", "drift") in checks
    label_batch = defs.resolve_job_def("pills__label_batch")
    assert "pills__churn_report" in {n.name for n in label_batch.graph.node_defs}

    classify = spec.model_copy(
        update={"name": "shots", "modality": "image_classification",
                "labelers": [YoloClsLabelerSpec(type="yolo_cls", path=Path("cls.pt"))]}
    )  # fmt: skip
    defs = build_definitions([classify], encoder=ENCODER)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert "shots/label_issues" in keys and "shots/trained_model" not in keys
    assert defs.resolve_job_def("shots__label_issues") is not None
    with pytest.raises(dg.DagsterInvariantViolationError):
        defs.resolve_job_def("shots__relabel")
