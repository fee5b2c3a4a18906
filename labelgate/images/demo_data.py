"""Data for the image demo: the real COCO images and detector where ``../shared/data`` has
them, else a synthetic street of shapes and a tiny detector trained on it, offline.

Either way the demo gets a source folder of images, the true boxes per image (to simulate
honest reviewers and to score the accepted labels) and a detector whose class names are COCO
names (the synthetic one knows ``person`` = discs, ``car`` = wide boxes, ``truck`` = big
boxes), so the project's ontology is the same for both.
"""

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from PIL import Image, ImageDraw

from labelgate.images.boxes import Boxes
from labelgate.images.labelers import ultralytics_offline

MODEL_DIR_NAME = "detector_openvino_model"
# The classes the demo ontology names; bus and motorcycle never appear in the shapes.
SYNTH_NAMES = ["person", "car", "truck", "bus", "motorcycle"]


@dataclass(frozen=True)
class DemoImages:
    source: Path  # the project's source folder (one batch sub-folder per chunk of images)
    truth: dict[str, Boxes]  # file name stem → true boxes in project classes
    model: Path
    real: bool


def truth_in_project_classes(
    labels_dir: Path, stems: list[str], names: list[str], ontology: dict[str, str]
) -> dict[str, Boxes]:
    """YOLO label files → project-class boxes (classes outside the ontology dropped; a
    missing file means no objects)."""
    out = {}
    for stem in stems:
        file = labels_dir / f"{stem}.txt"
        rows = []
        if file.is_file():
            for line in file.read_text().splitlines():
                if not line.strip():
                    continue
                cls, cx, cy, w, h = line.split()[:5]
                label = ontology.get(names[int(cls)])
                if label is not None:
                    x, y, bw, bh = map(float, (cx, cy, w, h))
                    rows.append((label, x - bw / 2, y - bh / 2, x + bw / 2, y + bh / 2))
        out[stem] = Boxes(
            np.array([r[1:] for r in rows]).reshape(-1, 4),
            np.array([r[0] for r in rows], dtype=object),
            np.ones(len(rows)),
        )
    return out


def coco_class_names(dataset: Path) -> list[str]:
    """The class names by index of an Ultralytics COCO dataset folder (``coco128.yaml``)."""
    names = yaml.safe_load((dataset / "coco128.yaml").read_text())["names"]
    return [names[i] for i in sorted(names)]


def prepare_real(
    shared: Path, demo_dir: Path, ontology: dict[str, str], *, images: int, batches: int
) -> DemoImages | None:
    """Copy coco128 images and the COCO detector under ``demo_dir``; None where absent."""
    coco, model = shared / "coco128", shared / "yolov8n_int8_openvino_model"
    if not (coco.is_dir() and model.is_dir()):
        return None
    names = coco_class_names(coco)
    files = sorted((coco / "images" / "train2017").glob("*.jpg"))[:images]
    source = demo_dir / "inbox"
    for i, file in enumerate(files):
        target = source / f"batch_{i % batches + 1:02d}" / file.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, target)
    model_dir = demo_dir / MODEL_DIR_NAME
    shutil.copytree(model, model_dir)
    truth = truth_in_project_classes(
        coco / "labels" / "train2017", [f.stem for f in files], names, ontology
    )
    return DemoImages(source, truth, model_dir, real=True)


def draw_street(rng: np.random.Generator, size: int) -> tuple[Image.Image, list[tuple]]:
    """One synthetic image and its YOLO rows ``(class, cx, cy, w, h)``."""
    image = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(150, 230, 3)))
    draw = ImageDraw.Draw(image)
    rows: list[tuple] = []
    taken: list[tuple[float, float, float, float]] = []
    for _ in range(int(rng.integers(1, 5))):
        cls = int(rng.integers(0, 3))
        w, h = {
            0: (rng.uniform(0.08, 0.14),) * 2,
            1: (rng.uniform(0.22, 0.3), rng.uniform(0.1, 0.14)),
            2: (rng.uniform(0.32, 0.42), rng.uniform(0.2, 0.26)),
        }[cls]
        x, y = rng.uniform(0.02, 0.98 - w), rng.uniform(0.02, 0.98 - h)
        if any(x < b[2] and b[0] < x + w and y < b[3] and b[1] < y + h for b in taken):
            continue  # no overlaps: the truth stays unambiguous
        taken.append((x, y, x + w, y + h))
        xy = (x * size, y * size, (x + w) * size, (y + h) * size)
        color = [(200, 30, 30), (30, 60, 200), (30, 140, 40)][cls]
        (draw.ellipse if cls == 0 else draw.rectangle)(xy, fill=color)
        rows.append((cls, x + w / 2, y + h / 2, w, h))
    return image, rows


def write_shapes(folder: Path, n: int, *, seed: int, size: int = 160) -> list[str]:
    """``folder/images/*.png`` and ``folder/labels/*.txt``; returns the stems."""
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "labels").mkdir(parents=True, exist_ok=True)
    stems = []
    for i in range(n):
        image, rows = draw_street(rng, size)
        stem = f"street_{seed}_{i:04d}"
        image.save(folder / "images" / f"{stem}.png")
        text = "".join(f"{c} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n" for c, cx, cy, w, h in rows)
        (folder / "labels" / f"{stem}.txt").write_text(text)
        stems.append(stem)
    return stems


def train_shapes_detector(work: Path, *, images: int = 96, epochs: int = 25) -> Path:
    """Train YOLOv8n from ``yolov8n.yaml`` (no pretrained weights) on synthetic shapes and
    export it to OpenVINO; returns the exported folder. No downloads: offline, no AMP check,
    no plots."""
    ultralytics_offline()
    from ultralytics import YOLO

    data_dir = work / "train_data"
    write_shapes(data_dir, images, seed=1000)
    data_yaml = data_dir / "data.yaml"
    data_yaml.write_text(
        yaml.safe_dump(
            {
                "path": str(data_dir),
                "train": "images",
                "val": "images",
                "names": dict(enumerate(SYNTH_NAMES)),
            }
        )
    )
    model = YOLO("yolov8n.yaml", task="detect")
    model.train(
        data=str(data_yaml),
        epochs=epochs,
        imgsz=160,
        batch=16,
        workers=0,
        device="cpu",
        amp=False,
        plots=False,
        val=False,
        pretrained=False,
        project=str(work / "runs"),
        name="shapes",
        exist_ok=True,
        verbose=False,
        seed=0,
        deterministic=True,
        mosaic=0.0,
    )
    exported = Path(model.export(format="openvino", imgsz=160, dynamic=False, half=False))
    return exported


def prepare_synthetic(
    demo_dir: Path,
    ontology: dict[str, str],
    *,
    images: int,
    batches: int,
    train_images: int = 96,
    train_epochs: int = 25,
) -> DemoImages:
    """Synthetic shapes in the source folder and a detector trained on other shapes."""
    shapes = demo_dir / "shapes"
    stems = write_shapes(shapes, images, seed=7)
    source = demo_dir / "inbox"
    for i, stem in enumerate(stems):
        target = source / f"batch_{i % batches + 1:02d}" / f"{stem}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(shapes / "images" / f"{stem}.png", target)
    exported = train_shapes_detector(
        demo_dir / "training", images=train_images, epochs=train_epochs
    )
    model_dir = demo_dir / MODEL_DIR_NAME
    shutil.copytree(exported, model_dir)
    truth = truth_in_project_classes(shapes / "labels", stems, SYNTH_NAMES, ontology)
    return DemoImages(source, truth, model_dir, real=False)
