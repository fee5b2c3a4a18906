"""Image distillation: a YOLO student trained on the YOLO export of approved boxes."""

from pathlib import Path

import pandas as pd
import pytest

from labelgate.images.demo_data import write_shapes
from labelgate.images.export import export_yolo
from labelgate.models.detector import FROM_SCRATCH, starting_point, train_detector

NAMES = ["ball", "box"]


def shapes_label_set(folder: Path, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accepted boxes and raw image items as the image assets hold them."""
    stems = write_shapes(folder, n, seed=7)
    accepted, items = [], []
    for stem in stems:
        boxes = []
        for line in (folder / "labels" / f"{stem}.txt").read_text().splitlines():
            cls, cx, cy, w, h = line.split()
            cx, cy, w, h = map(float, (cx, cy, w, h))
            boxes.append(
                {
                    "x1": cx - w / 2,
                    "y1": cy - h / 2,
                    "x2": cx + w / 2,
                    "y2": cy + h / 2,
                    "label": NAMES[int(cls) % 2],
                    "confidence": 1.0,
                }
            )
        accepted.append({"item_id": stem, "boxes": boxes})
        items.append(
            {"item_id": stem, "path": str(folder / "images" / f"{stem}.png"), "width": 160,
             "height": 160}
        )  # fmt: skip
    return pd.DataFrame(accepted), pd.DataFrame(items)


def test_starting_point_trains_from_scratch_when_the_teacher_cannot_train(tmp_path: Path) -> None:
    openvino = tmp_path / "yolov8n_int8_openvino_model"
    openvino.mkdir()
    assert starting_point(openvino) == FROM_SCRATCH
    assert starting_point(None) == FROM_SCRATCH
    weights = tmp_path / "base.pt"
    weights.write_bytes(b"x")
    assert starting_point(weights) == str(weights)


@pytest.mark.slow
def test_student_detector_trains_on_the_yolo_export_and_is_scored_on_val(tmp_path: Path) -> None:
    accepted, items = shapes_label_set(tmp_path / "shapes", 40)
    dataset = export_yolo(accepted, items, NAMES, tmp_path / "yolo", val_fraction=0.25, seed=0)
    result = train_detector(dataset, tmp_path / "student", epochs=3, imgsz=160, seed=0)
    assert result.weights.is_file() and result.base == FROM_SCRATCH
    assert 0.0 <= result.map50_95 <= result.map50 <= 1.0
    assert not (tmp_path / "student" / "runs").exists()
    with pytest.raises(FileNotFoundError, match="export the label set as YOLO first"):
        train_detector(tmp_path / "nowhere", tmp_path / "x")
