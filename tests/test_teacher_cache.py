"""The configured (teacher) detectors score each image once per weights and settings, as the
champion does: a re-label or a re-run of candidate_labels runs them only on images they have
not scored. Fast: fake YOLO models (tests/fake_yolo.py, tests/test_image_labelers.py)."""

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from labelgate.embeddings import EmbeddingCache
from labelgate.images.spec import YoloLabelerSpec
from labelgate.modalities import modality_for
from labelgate.modalities.base import LabelingInputs
from labelgate.modalities.detection import DetectionModality
from labelgate.models.box_cache import CachedDetector
from labelgate.spec import ProjectSpec, load_project
from tests.fake_yolo import install
from tests.test_image_labelers import FakeDetector, detector_spec

N_IMAGES = 4
TEACHER = {f"img{i}.png": [("pill", 0.1, 0.1, 0.3 + 0.1 * i, 0.5, 0.8)] for i in range(6)}
TEACHER["img3.png"] = []  # an image without boxes is cached too


def _image(folder: Path, i: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 16), (40 * i, 200 - 30 * i, 9)).save(folder / f"img{i}.png")


def _write_spec(tmp_path: Path, **teacher: object) -> ProjectSpec:
    (tmp_path / "p.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "pills",
                "modality": "image_detection",
                "source": {"path": "inbox"},
                "classes": [
                    {"name": "pill", "description": "a pill"},
                    {"name": "tablet", "description": "a tablet"},
                ],
                "labelers": [{"type": "yolo", "path": "teacher.pt", **teacher}],
                "storage": "store",
            }
        )
    )
    return load_project(tmp_path / "p.yaml")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ProjectSpec, Counter]:
    calls = install(monkeypatch, {"teacher.pt": TEACHER})
    for i in range(N_IMAGES):
        _image(tmp_path / "inbox" / "day1", i)
    (tmp_path / "teacher.pt").write_bytes(b"teacher v1")
    return _write_spec(tmp_path), calls


def _label(spec: ProjectSpec, scored: int | None = None) -> pd.DataFrame:
    """One candidate_labels run over the batch's images, as the asset runs it (``scored``:
    how many images the teacher must report it ran on)."""
    modality = modality_for(spec)
    assert isinstance(modality, DetectionModality)
    (batch,) = modality.batches()
    items = modality.ingest(batch).items[["item_id", "path"]]
    labeling = modality.labeling(LabelingInputs())
    frame = pd.concat(list(labeling.stream(iter([items]))), ignore_index=True)
    if scored is not None:
        assert labeling.report(1.0)["images_scored"] == {"yolo": scored}
    return frame.sort_values("item_id").reset_index(drop=True)


def _boxes(frame: pd.DataFrame) -> list[list[tuple]]:
    return [sorted(tuple(sorted(b.items())) for b in boxes) for boxes in frame["boxes"]]


def test_a_relabel_runs_the_teacher_only_on_images_it_has_not_scored(
    project: tuple[ProjectSpec, Counter], tmp_path: Path
) -> None:
    spec, calls = project
    first = _label(spec, scored=N_IMAGES)
    assert calls["teacher.pt"] == N_IMAGES
    again = _label(spec, scored=0)
    assert calls["teacher.pt"] == N_IMAGES  # every image from the cache
    assert _boxes(again) == _boxes(first)  # the same boxes, the empty set included
    assert again["labeler_version"].tolist() == first["labeler_version"].tolist()

    _image(tmp_path / "inbox" / "day1", N_IMAGES)  # a new image
    assert len(_label(spec, scored=1)) == N_IMAGES + 1
    assert calls["teacher.pt"] == N_IMAGES + 1  # only the new one

    (tmp_path / "teacher.pt").write_bytes(b"teacher v2")  # new weights: a new version
    relabeled = _label(spec)
    assert calls["teacher.pt"] == 2 * (N_IMAGES + 1)
    assert set(relabeled["labeler_version"]) != set(first["labeler_version"])

    stricter = _write_spec(tmp_path, candidate_conf=0.2)  # a setting that shapes the boxes
    _label(stricter)
    assert calls["teacher.pt"] == 3 * (N_IMAGES + 1)
    _label(stricter)
    assert calls["teacher.pt"] == 3 * (N_IMAGES + 1)


def test_a_cached_detector_with_test_time_augmentation_caches_both_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeDetector()
    monkeypatch.setattr("labelgate.images.labelers.load_yolo", lambda path, task: fake)
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"w")
    spec = YoloLabelerSpec.model_validate(
        {**detector_spec(tta=True).model_dump(), "path": str(weights)}
    )
    paths = []
    for i in range(3):
        _image(tmp_path / "imgs", i)
        paths.append(str(tmp_path / "imgs" / f"img{i}.png"))
    cache = EmbeddingCache(tmp_path / "boxes.sqlite")
    detector = CachedDetector(spec, ["person", "vehicle"], cache, settings_in_key=True)
    first, errors = detector.predict(paths)
    ran = sum(fake.calls)
    assert ran == 2 * len(paths) and errors == [""] * len(paths)  # plain and mirrored passes
    again, _ = CachedDetector(spec, ["person", "vehicle"], cache, settings_in_key=True).predict(
        paths
    )
    assert sum(fake.calls) == ran  # nothing run
    for source in ("yolo", "yolo_flip"):
        for old, new in zip(first[source], again[source], strict=True):
            assert old is not None and new is not None
            np.testing.assert_allclose(new.xyxy, old.xyxy)
            assert new.labels.tolist() == old.labels.tolist()
