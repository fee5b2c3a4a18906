"""The image distillation loop through Dagster on coco8 with the real COCO teacher (OpenVINO):
reviewed boxes → label set (draft, refused for training) → approved → YOLO student with card
and ledger row → scored against the teacher on held-out reviewed images → not promoted when
it loses → once champion, it labels as the extra ``champion`` source (slow: about 40 s)."""

import json
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from labelgate.governance.approval import decide
from labelgate.governance.signing import public_key_line
from labelgate.governance.verify import verify_project
from labelgate.images.project import ImageProjectData
from labelgate.label_sets import LabelSetStore
from labelgate.ledger import Ledger
from labelgate.ledger.events import MODEL_NOT_PROMOTED, MODEL_TRAINED
from labelgate.models.image_service import CHAMPION_SOURCE, WEIGHTS, split_box_set
from labelgate.models.registry import ModelRegistry
from labelgate.models.training import TrainingError
from labelgate.project import CANDIDATE_LABELS
from labelgate.spec import ProjectSpec
from labelgate_cli.runner import import_reviews, project_definitions, publish, run_project
from resources.encoder import TextEncoderResource
from tests.conftest import shared_data
from tests.image_projects import STREET_ONTOLOGY, coco8_truth, copy_coco8, write_detection_project
from tests.signing_keys import demo_key

CLASSES = ["person", "vehicle"]
ENCODER = TextEncoderResource(kind="hashing")


@pytest.fixture
def coco8_training_project(tmp_path: Path) -> tuple[ProjectSpec, dict]:
    model = shared_data("yolov8n_int8_openvino_model")
    copy_coco8(tmp_path / "inbox")
    (tmp_path / "identities.yaml").write_text(
        "identities:\n  - {name: annotator, roles: [reviewer]}\n"
        "  - {name: dana, roles: [steward], "
        f"public_key: '{public_key_line(demo_key('dana'))}'}}\n"
    )
    spec = write_detection_project(
        tmp_path,
        name="streets",
        classes={c: f"a {c}" for c in CLASSES},
        labelers=[{"type": "yolo", "path": str(model), "ontology": STREET_ONTOLOGY}],
        review={"calibration_size": 4, "uncertain_size": 2, "folder": "reviews"},
        training={
            "epochs": 1,
            "imgsz": 64,
            "batch_size": 8,
            "eval_fraction": 0.7,  # coco8: 6 held out, 1 with persons
            "min_eval_items": 1,
        },
        governance={"identities": "identities.yaml"},
    )
    return spec, coco8_truth()


def _review_everything(spec: ProjectSpec, truth: dict, folder: Path) -> None:
    """Every image answered as a YOLO-txt folder (reviewer ``annotator``)."""
    folder.mkdir()
    for row in ImageProjectData(spec).image_items().itertuples():
        lines = [
            f"{CLASSES.index(b['label'])} {(b['x1'] + b['x2']) / 2} {(b['y1'] + b['y2']) / 2} "
            f"{b['x2'] - b['x1']} {b['y2'] - b['y1']}"
            for b in truth[Path(row.path).stem].to_records()
        ]
        (folder / f"{Path(row.path).stem}.txt").write_text("\n".join(lines))


@pytest.mark.slow
def test_image_label_set_trains_a_student_that_must_beat_the_teacher(
    coco8_training_project: tuple[ProjectSpec, dict], tmp_path: Path
) -> None:
    spec, truth = coco8_training_project
    ledger = Ledger.for_project(spec)
    with dg.instance_for_test() as instance:
        run_project(spec, instance=instance, encoder=ENCODER)
        _review_everything(spec, truth, tmp_path / "answers")
        import_reviews(
            spec,
            [str(tmp_path / "answers")],
            instance=instance,
            encoder=ENCODER,
            reviewer="annotator",  # YOLO-txt files do not say who labeled
        )
        publish(spec, instance=instance, encoder=ENCODER)

        # The box label set: same versioned machinery, a draft until approved.
        label_set = LabelSetStore(spec).latest(status=None)
        assert label_set is not None and label_set.status == "draft"
        labels = label_set.labels()
        assert len(labels) == 8 and (labels["source"] == "human").all()
        assert label_set.manifest["unit"] == "boxes"
        assert sum(label_set.manifest["counts_per_class"].values()) == sum(
            len(b) for b in labels["boxes"]
        )
        assert "Detection gate evidence" in label_set.datasheet_path.read_text()
        assert verify_project(spec).ok

        defs = project_definitions(spec, ENCODER)
        train_job = defs.resolve_job_def("streets__train_model")
        with pytest.raises(TrainingError, match="no approved label set"):
            train_job.execute_in_process(instance=instance)
        assert not ModelRegistry(spec).list()

        decide(spec, label_set.version, actor="dana", key=demo_key("dana"))
        result = train_job.execute_in_process(instance=instance)
        assert result.success

    registry = ModelRegistry(spec)
    (card,) = registry.list()
    assert card.method == "yolo" and card.label_set_version == label_set.version
    assert card.hyperparameters["epochs"] == 1 and card.hyperparameters["imgsz"] == 64
    assert card.hyperparameters["base"] == "yolov8n.yaml"  # the OpenVINO teacher cannot train
    assert card.training_seconds > 0 and 0 <= card.metrics["val_map50"] <= 1
    assert (registry.folder(card.model_id) / WEIGHTS).is_file()
    train, evaluation = split_box_set(spec, labels)
    assert card.n_train == len(train) and card.n_eval == len(evaluation) > 0
    trained_on = set(registry.train_items(card.model_id)["item_id"])
    assert trained_on == set(train["item_id"]) and not trained_on & set(evaluation["item_id"])
    (trained,) = ledger.events(event=MODEL_TRAINED)
    assert trained.payload["model_id"] == card.model_id

    # One epoch at 64 px against the COCO teacher: the student loses and is kept, not promoted.
    assert registry.champion() is None
    (refused,) = ledger.events(event=MODEL_NOT_PROMOTED)
    evidence = refused.payload
    assert evidence["baseline"] == "teacher" and evidence["metric"] == "map50"
    assert evidence["challenger_score"] < evidence["champion_score"] + evidence["margin"]
    assert evidence["baseline_metrics"]["images"] == card.n_eval
    assert registry.get(card.model_id).history[-1]["event"] == "not_promoted"

    # A champion (forced here: the tiny student cannot win) labels as an extra yolo source.
    registry.set_champion(card.model_id, evidence={"forced_by": "test"})
    with dg.instance_for_test() as instance:
        run_project(spec, instance=instance, encoder=ENCODER)
    candidates = ImageProjectData(spec).tables.read_all(CANDIDATE_LABELS)
    student = candidates[candidates["labeler"] == CHAMPION_SOURCE]
    assert len(student) == 8
    assert set(student["labeler_version"]) == {card.model_id}
    auto = ImageProjectData(spec).tables.read_all("auto_labels")
    assert any(CHAMPION_SOURCE in json.loads(v) for v in auto["labeler_versions"])
    assert verify_project(spec).ok


def test_box_set_content_hash_survives_parquet_and_sees_a_moved_box(tmp_path: Path) -> None:
    from labelgate.images.labeling import BOXES_TYPE
    from labelgate.label_sets.content import content_hash, normalize_labels

    box = {"label": "person", "x1": 0.1, "y1": 0.2, "x2": 0.5, "y2": 0.6, "confidence": 1.0}
    accepted = pd.DataFrame(
        {
            "item_id": ["b", "a"],
            "boxes": [[box], []],
            "n_boxes": [1, 0],
            "source": ["human", "auto"],
            "confidence": [1.0, 0.9],
            "labeler_versions": ['{"yolo": "x"}'] * 2,
            "reviewer": ["annotator", None],
            "run_id": ["r1", "r1"],
        }
    )
    labels = normalize_labels(accepted)
    path = tmp_path / "labels.parquet"
    schema = pa.Schema.from_pandas(labels, preserve_index=False)
    schema = schema.set(schema.get_field_index("boxes"), pa.field("boxes", BOXES_TYPE))
    pq.write_table(pa.Table.from_pandas(labels, schema=schema, preserve_index=False), path)
    assert content_hash(pd.read_parquet(path)) == content_hash(labels)
    moved = accepted.assign(boxes=[[{**box, "x2": 0.55}], []])
    assert content_hash(normalize_labels(moved)) != content_hash(labels)
