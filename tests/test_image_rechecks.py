"""Image review queues re-check human labels as text ones do: a box set the new labels
contradict (a churn recheck request) and a suspected class-label error (label issue) come
back after the calibration part, under the purpose of their first review, so a re-check of
an uncertain image never becomes gate calibration evidence. The exported review files carry
them. Fast: a fake YOLO (tests/fake_yolo.py) stands in for ultralytics."""

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml
from PIL import Image

from labelgate.images.exchange import label_studio_tasks
from labelgate.modalities import modality_for
from labelgate.modalities.base import LabelingInputs
from labelgate.modalities.images import ImageModality
from labelgate.models.active import LABEL_ISSUES, RECHECKS, add_rechecks
from labelgate.models.churn import CHURN_COLUMNS
from labelgate.project import RAW_ITEMS, REVIEW_QUEUE
from labelgate.review.budget import QueueSizes
from labelgate.spec import ProjectSpec, load_project
from tests.fake_yolo import install

N_IMAGES = 8
SIZES = QueueSizes(calibration_size=2, uncertain_size=2)


def _boxes(i: int) -> list[tuple[str, float, float, float, float, float]]:
    return [("pill", 0.1, 0.1, 0.4, 0.4, 0.3 + 0.08 * i)]  # image i: confidence rises with i


def _project(tmp_path: Path, modality: str, labeler: dict) -> ProjectSpec:
    folder = tmp_path / "inbox" / "day1"
    folder.mkdir(parents=True)
    for i in range(N_IMAGES):
        Image.new("RGB", (16, 16), (30 * i, 255 - 30 * i, 7)).save(folder / f"img{i}.png")
    (tmp_path / "p.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "pills",
                "modality": modality,
                "source": {"path": "inbox"},
                "classes": [
                    {"name": "pill", "description": "a pill"},
                    {"name": "tablet", "description": "a tablet"},
                ],
                "labelers": [labeler],
                "review": {"calibration_size": 2, "uncertain_size": 2, "folder": "reviews"},
                "training": {"min_eval_items": 1, "imgsz": 64},
                "storage": "store",
            }
        )
    )
    return load_project(tmp_path / "p.yaml")


def _ingest(modality: ImageModality) -> pd.DataFrame:
    (batch,) = modality.batches()
    items = modality.ingest(batch).items
    modality.data.tables.write(RAW_ITEMS, items, batch.key)
    return items


def _queue(modality: ImageModality, auto: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """The next review_queue, exported and stored as the asset does."""
    queue = modality.review_queue(auto, items, modality.data.reviewed(), SIZES)
    exported = modality.export_queue(queue, auto, items)
    modality.data.tables.write(REVIEW_QUEUE, exported.stored)
    return queue


def _exported(modality: ImageModality) -> tuple[dict[str, str], set[str]]:
    """(item -> purpose in the CSV, items of the Label Studio tasks) of the exported queue."""
    folder = modality.data.queue_dir
    with (folder / "review_queue.csv").open() as f:
        purposes = {row["item_id"]: row["purpose"] for row in csv.DictReader(f)}
    tasks = json.loads((folder / "label_studio_tasks.json").read_text())
    return purposes, {t["data"]["item_id"] for t in tasks}


@pytest.fixture
def detection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ProjectSpec:
    table = {f"img{i}.png": _boxes(i) for i in range(N_IMAGES)}
    install(monkeypatch, {"teacher.pt": table})
    (tmp_path / "teacher.pt").write_bytes(b"teacher")
    return _project(tmp_path, "image_detection", {"type": "yolo", "path": "teacher.pt"})


def _answer(
    modality: ImageModality, items: pd.DataFrame, ids: list[str], path: Path
) -> pd.DataFrame:
    """Import Label Studio answers for ``ids`` (a tablet where the detector saw a pill)."""
    tablet = [{"label": "tablet", "x1": 0.1, "y1": 0.1, "x2": 0.4, "y2": 0.4, "confidence": 1.0}]
    rows = items[items["item_id"].isin(ids)].assign(boxes=[tablet] * len(ids))
    path.write_text(json.dumps(label_studio_tasks(rows, key="annotations", completed_by="ann")))
    modality.import_reviews([str(path)], reviewer=None, run_id="r")
    return modality.data.reviewed()


def test_a_contradicted_box_set_is_rechecked_under_its_first_purpose_never_as_calibration(
    detection: ProjectSpec, tmp_path: Path
) -> None:
    modality = modality_for(detection)
    assert isinstance(modality, ImageModality)
    items = _ingest(modality)
    labeling = modality.labeling(LabelingInputs())
    candidates = pd.concat(list(labeling.stream(iter([items[["item_id", "path"]]]))))
    auto = modality.consolidate(candidates, "day1")
    first = _queue(modality, auto, items)
    assert first["purpose"].tolist() == ["calibration"] * 2 + ["uncertain"] * 2
    calibration = first[first["purpose"] == "calibration"]["item_id"].tolist()
    uncertain = first[first["purpose"] == "uncertain"]["item_id"].tolist()
    reviewed = _answer(modality, items, calibration + uncertain, tmp_path / "a1.json")
    assert set(reviewed["item_id"]) == set(calibration + uncertain)

    # A re-label, after these reviews, contradicts a calibration and an uncertain box set.
    flagged = [calibration[0], uncertain[0]]
    flips = pd.DataFrame(
        {
            "item_id": flagged,
            "batch": "day1",
            "old_label": "1 box(es): tablet x1",
            "new_label": "1 box(es): pill x1",
            "causes": "champion",
            "human_label": "1 box(es): tablet x1",
            "to_review": True,
            "reported_at": datetime.now(UTC).isoformat(),
        },
        columns=CHURN_COLUMNS,
    )
    assert add_rechecks(modality.data, "day1", flips) == 2
    assert modality.data.tables.exists(RECHECKS, "day1")
    second = _queue(modality, auto, items)
    by_id = second.set_index("item_id")
    assert set(flagged) <= set(by_id.index)
    assert by_id.loc[calibration[0], "purpose"] == "calibration"  # stays in the sample
    assert by_id.loc[uncertain[0], "purpose"] == "uncertain"
    # The calibration sample is complete: the re-checks come first, then fresh doubts.
    assert set(second["item_id"].iloc[:2]) == set(flagged)
    assert not set(second["item_id"].iloc[2:]) & set(reviewed["item_id"])
    assert second["rank"].tolist() == list(range(1, len(second) + 1))
    assert [b["label"] for b in by_id.loc[uncertain[0], "boxes"]] == ["pill"]  # the new boxes
    purposes, tasks = _exported(modality)
    assert purposes[uncertain[0]] == "uncertain" and purposes[calibration[0]] == "calibration"
    assert set(flagged) <= tasks

    # The reviewer answers the re-check: the gate never counts the uncertain image.
    reviewed = _answer(modality, items, [uncertain[0]], tmp_path / "a2.json")
    latest = reviewed.drop_duplicates("item_id", keep="last").set_index("item_id")
    assert latest.loc[uncertain[0], "purpose"] == "uncertain"
    done = modality.accept(auto, reviewed, run_id="r")
    assert set(done.evidence["item_id"]) == set(calibration)
    # Answered since the request: it leaves the queue; the unanswered one stays.
    third = set(_queue(modality, auto, items)["item_id"])
    assert uncertain[0] not in third and calibration[0] in third


@pytest.fixture
def classification(tmp_path: Path) -> ProjectSpec:
    (tmp_path / "cls.pt").write_bytes(b"cls")
    return _project(tmp_path, "image_classification", {"type": "yolo_cls", "path": "cls.pt"})


def _class_auto(items: pd.DataFrame) -> pd.DataFrame:
    ids = items["item_id"].astype(str).tolist()
    confidence = [0.5 + 0.05 * i for i in range(len(ids))]
    return pd.DataFrame(
        {
            "item_id": ids,
            "batch": "day1",
            "label": "pill",
            "confidence": confidence,
            "margin": confidence,
            "entropy": 0.1,
            "agreeing_sources": 1,
            "labeler_versions": "{}",
        }
    )


def _answer_classes(modality: ImageModality, answers: dict[str, str], path: Path) -> pd.DataFrame:
    """Import a review CSV (``item_id, label, reviewer``) as a reviewer would send it."""
    rows = [{"item_id": i, "label": label, "reviewer": "ann"} for i, label in answers.items()]
    pd.DataFrame(rows).to_csv(path, index=False)
    modality.import_reviews([str(path)], reviewer=None, run_id="r")
    return modality.data.reviewed()


def test_a_suspected_class_label_error_is_rechecked_and_never_calibration(
    classification: ProjectSpec, tmp_path: Path
) -> None:
    modality = modality_for(classification)
    assert isinstance(modality, ImageModality)
    items = _ingest(modality)
    auto = _class_auto(items)
    first = _queue(modality, auto, items)
    calibration = first[first["purpose"] == "calibration"]["item_id"].tolist()
    uncertain = first[first["purpose"] == "uncertain"]["item_id"].tolist()
    answers = dict.fromkeys(calibration + uncertain, "tablet")
    reviewed = _answer_classes(modality, answers, tmp_path / "a1.csv")
    assert len(reviewed) == 4

    # cleanlab, after these reviews, suspects the uncertain image's human label.
    issues = pd.DataFrame(
        {
            "item_id": [uncertain[0]],
            "given_label": ["tablet"],
            "suggested_label": ["pill"],
            "self_confidence": [0.1],
            "reported_at": [datetime.now(UTC).isoformat()],
        }
    )
    modality.data.tables.write(LABEL_ISSUES, issues)
    queue = _queue(modality, auto, items)
    by_id = queue.set_index("item_id")
    assert by_id.loc[uncertain[0], "purpose"] == "uncertain"
    assert by_id.loc[uncertain[0], "predicted_label"] == "pill"  # the suggestion
    assert by_id.loc[uncertain[0], "text"] == by_id.loc[uncertain[0], "path"]
    assert queue["item_id"].iloc[0] == uncertain[0]  # before fresh doubts (sample complete)
    assert not set(queue["item_id"].iloc[1:]) & set(reviewed["item_id"])
    purposes, tasks = _exported(modality)
    assert purposes[uncertain[0]] == "uncertain" and uncertain[0] in tasks

    # The answer keeps its first purpose: never in the gate's calibration evidence.
    reviewed = _answer_classes(modality, {uncertain[0]: "pill"}, tmp_path / "a2.csv")
    latest = reviewed.drop_duplicates("item_id", keep="last").set_index("item_id")
    assert latest.loc[uncertain[0], ["label", "purpose"]].tolist() == ["pill", "uncertain"]
    evidence = modality.accept(auto, reviewed, run_id="r").evidence
    assert set(evidence["item_id"]) == set(calibration)
    assert uncertain[0] not in set(_queue(modality, auto, items)["item_id"])
