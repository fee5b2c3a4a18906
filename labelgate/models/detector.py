"""Distill approved box labels into a YOLO detector (image detection projects).

Input is a YOLO dataset as ``labelgate.images.export.export_yolo`` writes it from a label set
(its ``val`` split is a deterministic function of the item id, so it is held out the same
way every time). Training starts from the project's base ``.pt`` weights, or from
``yolov8n.yaml`` when there are none or the teacher is an export that cannot be trained
(such as an OpenVINO folder). Offline and reproducible: no downloads, no AMP check, no
plots, fixed seed, deterministic mode. The student is scored on the ``val`` split with
mAP50 and mAP50-95.
"""

import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from labelgate.images.labelers import ultralytics_offline
from labelgate.storage import atomic_path

FROM_SCRATCH = "yolov8n.yaml"


@dataclass(frozen=True)
class DetectorResult:
    weights: Path
    base: str
    epochs: int
    imgsz: int
    seed: int
    map50: float
    map50_95: float
    seconds: float

    def to_dict(self) -> dict:
        return {**asdict(self), "weights": str(self.weights)}


def starting_point(base: Path | None) -> str:
    """Trainable base weights, or the architecture file to train from scratch."""
    if base is not None and Path(base).is_file() and Path(base).suffix == ".pt":
        return str(base)
    return FROM_SCRATCH


def evaluate_detector(
    weights: Path, data_yaml: Path, *, imgsz: int, device: str = "cpu"
) -> tuple[float, float]:
    """(mAP50, mAP50-95) of ``weights`` on the dataset's ``val`` split."""
    ultralytics_offline()
    from ultralytics import YOLO

    metrics = YOLO(str(weights), task="detect").val(
        data=str(data_yaml),
        split="val",
        imgsz=imgsz,
        batch=16,
        workers=0,
        device=device,
        plots=False,
        verbose=False,
    )
    return float(metrics.box.map50), float(metrics.box.map)


def train_detector(
    dataset: Path,
    out: Path,
    *,
    base: Path | None = None,
    epochs: int = 30,
    imgsz: int = 320,
    batch: int = 16,
    seed: int = 0,
    device: str = "cpu",
) -> DetectorResult:
    """Train on ``dataset/data.yaml``'s train split; ``out/weights.pt`` is the student."""
    data_yaml = Path(dataset) / "data.yaml"
    if not data_yaml.is_file():
        raise FileNotFoundError(f"{data_yaml} missing: export the label set as YOLO first")
    if not any((Path(dataset) / "images" / "val").iterdir()):
        raise ValueError(f"{dataset} has no val images to evaluate the detector on")
    ultralytics_offline()
    from ultralytics import YOLO

    start = starting_point(base)
    work = Path(out) / "runs"
    started = time.perf_counter()
    model = YOLO(start, task="detect")
    model.train(
        data=str(data_yaml),
        epochs=epochs,
        imgsz=imgsz,
        batch=batch,
        workers=0,
        device=device,
        amp=False,
        plots=False,
        val=False,
        pretrained=start != FROM_SCRATCH,
        project=str(work),
        name="train",
        exist_ok=True,
        verbose=False,
        seed=seed,
        deterministic=True,
    )
    last = Path(model.trainer.save_dir) / "weights" / "last.pt"
    target = Path(out) / "weights.pt"
    with atomic_path(target) as tmp:
        shutil.copyfile(last, tmp)
    seconds = time.perf_counter() - started
    map50, map50_95 = evaluate_detector(target, data_yaml, imgsz=imgsz, device=device)
    shutil.rmtree(work, ignore_errors=True)
    return DetectorResult(target, start, epochs, imgsz, seed, map50, map50_95, seconds)
