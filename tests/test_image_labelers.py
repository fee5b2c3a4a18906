"""YOLO labelers with deterministic fake models (no weights): ontology, class-merging NMS,
mirrored TTA, failing images, and the classification project end to end through Dagster."""

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import dagster as dg
import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image

from labelgate.errors import ReviewFileError
from labelgate.images import labelers
from labelgate.images.labelers import ModelLoadError, YoloClassifier, YoloDetector
from labelgate.images.labeling import consolidate, detection_stream
from labelgate.images.project import ImageProjectData
from labelgate.images.spec import YoloClsLabelerSpec, YoloLabelerSpec
from labelgate.project import ACCEPTED_LABELS, AUTO_LABELS
from labelgate.spec import load_project
from labelgate_cli.runner import import_reviews, publish, run_project
from resources.encoder import TextEncoderResource

COCO = {0: "person", 1: "car", 2: "truck", 3: "dog"}


class FakeDetector:
    """Per image: a car and a truck box on one object, a person, a dog. Mirrored input (an
    array) gets mirrored boxes; a path containing 'bad' makes the whole call fail."""

    names: ClassVar[dict[int, str]] = COCO

    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict(self, source: list[Any], **kwargs: Any) -> Iterator[Any]:
        self.calls.append(len(source))
        if any(isinstance(s, str) and "bad" in s for s in source):
            raise ValueError("cannot decode bad image")
        for item in source:
            xyxy = np.array(
                [[0.1, 0.1, 0.5, 0.5], [0.11, 0.1, 0.5, 0.52], [0.6, 0.2, 0.7, 0.9],
                 [0.0, 0.0, 0.05, 0.05]]
            )  # fmt: skip
            if not isinstance(item, str):  # mirrored
                xyxy = np.column_stack([1 - xyxy[:, 2], xyxy[:, 1], 1 - xyxy[:, 0], xyxy[:, 3]])
            boxes = SimpleNamespace(
                xyxyn=torch.tensor(xyxy),
                cls=torch.tensor([1.0, 2.0, 0.0, 3.0]),
                conf=torch.tensor([0.9, 0.6, 0.8, 0.7]),
            )
            yield SimpleNamespace(boxes=boxes)


def detector_spec(**overrides: Any) -> YoloLabelerSpec:
    data = {"type": "yolo", "path": "fake", "batch": 2, "device": "cpu"}
    data.update(overrides)
    data.setdefault("ontology", {"person": "person", "car": "vehicle", "truck": "vehicle"})
    return YoloLabelerSpec.model_validate(data)


def test_ontology_merges_classes_and_drops_unmapped(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    Image.new("RGB", (32, 32)).save(image)
    detector = YoloDetector(detector_spec(), ["person", "vehicle"], model=FakeDetector())
    sources, errors = detector.predict([str(image)])
    [boxes] = sources["yolo"]
    assert errors == [""]
    assert sorted(boxes.labels) == ["person", "vehicle"]  # car+truck: one vehicle; dog dropped
    vehicle = boxes.subset(boxes.labels == "vehicle")
    assert vehicle.confidence.tolist() == pytest.approx([0.9])


def test_unknown_ontology_class_is_an_error() -> None:
    with pytest.raises(ModelLoadError, match=r"\['lorry'\]"):
        YoloDetector(
            detector_spec(ontology={"lorry": "vehicle"}), ["vehicle"], model=FakeDetector()
        )


def test_mirrored_pass_is_unflipped_and_fuses_with_the_plain_one(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    Image.new("RGB", (32, 32)).save(image)
    detector = YoloDetector(detector_spec(tta=True), ["person", "vehicle"], model=FakeDetector())
    sources, _ = detector.predict([str(image)])
    plain, flipped = sources["yolo"][0], sources["yolo_flip"][0]
    np.testing.assert_allclose(
        plain.xyxy[np.argsort(plain.labels)], flipped.xyxy[np.argsort(flipped.labels)]
    )
    frame = next(detection_stream([pd.DataFrame({"item_id": ["i"], "path": [str(image)]})],
                                  [detector]))  # fmt: skip
    auto = consolidate(frame, box_threshold=0.25, batch="b")
    assert auto["n_boxes"].tolist() == [2]
    assert auto["agreeing_sources"].tolist() == ["yolo,yolo_flip"]


def test_a_failing_image_is_an_error_row_not_a_crash(tmp_path: Path) -> None:
    paths = []
    for name in ("a.png", "bad.png", "c.png"):
        Image.new("RGB", (16, 16)).save(tmp_path / name)
        paths.append(str(tmp_path / name))
    fake = FakeDetector()
    detector = YoloDetector(detector_spec(batch=4), ["person", "vehicle"], model=fake)
    chunk = pd.DataFrame({"item_id": ["a", "b", "c"], "path": paths})
    frame = next(detection_stream([chunk], [detector]))
    assert frame["error"].notna().tolist() == [False, True, False]
    assert "cannot decode" in frame["error"][1]
    assert fake.calls == [3, 1, 1, 1]  # the batch failed, then one by one
    auto = consolidate(frame, box_threshold=0.25, batch="b")
    assert auto["item_id"].tolist() == ["a", "c"]


class FakeClassifier:
    """Reddish images are cats (sometimes 'lion'), blue ones dogs, by mean colour."""

    names: ClassVar[dict[int, str]] = {0: "cat", 1: "lion", 2: "dog", 3: "car"}

    def predict(self, source: list[str], **kwargs: Any) -> Iterator[Any]:
        for path in source:
            red, _, blue = np.asarray(Image.open(path).convert("RGB")).mean(axis=(0, 1))
            p = np.array([0.6, 0.2, 0.1, 0.1]) if red > blue else np.array([0.05, 0.05, 0.8, 0.1])
            yield SimpleNamespace(probs=SimpleNamespace(data=torch.tensor(p)))


def test_classifier_adds_up_probabilities_of_mapped_classes(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8), "red").save(tmp_path / "r.png")
    spec = YoloClsLabelerSpec.model_validate(
        {"type": "yolo_cls", "path": "x", "ontology": {"cat": "cat", "lion": "cat", "dog": "dog"}}
    )
    classifier = YoloClassifier(spec, ["cat", "dog"], model=FakeClassifier())
    output = classifier.predict(["i"], [str(tmp_path / "r.png")])
    np.testing.assert_allclose(output.probs, [[0.8 / 0.9, 0.1 / 0.9]])


@pytest.fixture
def classification_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    model = tmp_path / "cls.pt"
    model.write_bytes(b"fake weights")  # the version is its content hash
    monkeypatch.setitem(labelers._MODELS, (str(model.resolve()), "classify"), FakeClassifier())
    for i in range(24):
        color = "red" if i % 2 else "blue"
        path = tmp_path / "inbox" / f"b{i % 2}" / f"{color}_{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        image = Image.new("RGB", (16, 16), color)
        image.putpixel((0, 0), (i, i, i))  # distinct content, distinct item ids
        image.save(path)
    (tmp_path / "p.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "pets",
                "modality": "image_classification",
                "source": {"path": "inbox"},
                "classes": [{"name": "cat", "description": "a cat"},
                            {"name": "dog", "description": "a dog"}],
                "labelers": [{"type": "yolo_cls", "path": str(model),
                              "ontology": {"cat": "cat", "lion": "cat", "dog": "dog"}}],
                "review": {"calibration_size": 6, "uncertain_size": 2, "folder": "reviews"},
                "storage": "store",
            }
        )
    )  # fmt: skip
    return load_project(tmp_path / "p.yaml")


def test_classification_project_runs_the_text_gate_on_images(
    classification_project, tmp_path: Path
) -> None:
    spec = classification_project
    data = ImageProjectData(spec)
    encoder = TextEncoderResource(kind="hashing")
    with dg.instance_for_test() as instance:
        run_project(spec, instance=instance, encoder=encoder)
        auto = data.tables.read_all(AUTO_LABELS)
        items = data.image_items().merge(auto, on="item_id")
        truth = items["path"].map(lambda p: "cat" if "red" in p else "dog")
        assert (items["label"] == truth).all()
        queue = pd.read_csv(data.queue_dir / "review_queue.csv")
        assert len(queue) == 8
        tasks = (data.queue_dir / "label_studio_tasks.json").read_text()
        assert '"choices"' in tasks and "/data/local-files/?d=" in tasks
        answers = queue.assign(
            label=queue["text"].map(lambda p: "cat" if "red" in p else "dog"), reviewer="ann"
        )[["item_id", "label", "reviewer"]]
        answers.to_csv(tmp_path / "answers.csv", index=False)
        import_reviews(spec, [str(tmp_path / "answers.csv")], instance=instance, encoder=encoder)
        publish(spec, instance=instance, encoder=encoder)
        accepted = data.tables.read(ACCEPTED_LABELS)
        assert (accepted["source"] == "human").sum() == 8
        bad = tmp_path / "bad.csv"
        bad.write_text("item_id,label,reviewer\nnope,cat,ann\n")
        with pytest.raises(ReviewFileError):
            data.import_review_file(bad)


def test_device_auto_prefers_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert labelers.resolve_device("auto") == "cuda:0"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert labelers.resolve_device("auto") == "cpu"
    assert labelers.resolve_device("cuda:1") == "cuda:1"


def test_model_version_follows_the_weights(tmp_path: Path) -> None:
    folder = tmp_path / "m_openvino_model"
    folder.mkdir()
    (folder / "m.bin").write_bytes(b"weights v1")
    first = labelers.model_version(folder)
    assert labelers.model_version(folder) == first
    (folder / "m.bin").write_bytes(b"weights v2, longer")
    assert labelers.model_version(folder) != first
