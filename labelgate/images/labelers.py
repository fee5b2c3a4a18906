"""Ultralytics YOLO labelers: detection (``yolo``) and classification (``yolo_cls``).

A model is loaded once per process from a local file or folder in any format ultralytics
loads (``.pt``, ``.onnx``, an OpenVINO ``*_openvino_model/`` folder). Nothing is downloaded:
``YOLO_OFFLINE=1`` is set before ultralytics is imported. The detector's class names go
through the labeler's ontology to project classes; unmapped detections are dropped.
"""

import functools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelgate.ids import artifact_version
from labelgate.images.boxes import Boxes
from labelgate.images.spec import YoloClsLabelerSpec, YoloLabelerSpec
from labelgate.labelers.base import LabelerOutput

_MODELS: dict[tuple[str, str], Any] = {}


class ModelLoadError(ValueError):
    """A labeler's model cannot be loaded or does not fit its ontology."""


def ultralytics_offline() -> None:
    """No downloads, no update or online checks, no telemetry (call before importing it)."""
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ.setdefault("YOLO_VERBOSE", "False")


def resolve_device(device: str) -> str:
    """``auto``: the first CUDA GPU, else Apple ``mps``, else ``cpu``."""
    if device != "auto":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda:0"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def load_yolo(path: Path, task: str) -> Any:
    """The ultralytics model at ``path`` (cached per process)."""
    path = Path(path)
    key = (str(path.resolve()), task)
    if key not in _MODELS:
        if not path.exists():
            raise ModelLoadError(f"model {path} does not exist")
        ultralytics_offline()
        from ultralytics import YOLO

        try:
            _MODELS[key] = YOLO(str(path), task=task)
        except Exception as exc:  # ultralytics raises many kinds; name the file at fault
            raise ModelLoadError(f"cannot load {task} model {path}: {exc}") from exc
    return _MODELS[key]


def model_version(path: Path) -> str:
    """Content hash of the model file or folder, re-hashed only when a file in it changed."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    stamp = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    return _hashed_version(str(path), stamp)


@functools.lru_cache(maxsize=64)
def _hashed_version(path: str, stamp: tuple) -> str:
    return artifact_version(Path(path))


def ontology_map(
    model_names: Mapping[int, str], ontology: Mapping[str, str], class_names: Sequence[str]
) -> dict[int, str]:
    """Model class index → project class; an empty ontology maps equal names."""
    by_name = {name: index for index, name in model_names.items()}
    if not ontology:
        return {i: name for name, i in by_name.items() if name in class_names}
    unknown = sorted(set(ontology) - set(by_name))
    if unknown:
        raise ModelLoadError(
            f"ontology names class(es) {unknown} the model does not have; it has "
            f"{sorted(by_name)[:20]}{' ...' if len(by_name) > 20 else ''}"
        )
    return {by_name[name]: target for name, target in ontology.items()}


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class YoloDetector:
    """Boxes per image from one detector, plus a mirrored pass when ``tta`` is set.

    Each source (``name``, ``name_flip``) is a list of :class:`Boxes` aligned with the input.
    A batch that fails as a whole is retried image by image; an image that still fails gets
    ``None`` and its error, so one bad file cannot sink a run.
    """

    def __init__(self, spec: YoloLabelerSpec, class_names: Sequence[str], *, model: Any = None):
        self.spec = spec
        self.name = spec.name
        self.model = model if model is not None else load_yolo(spec.path, "detect")
        self.version = model_version(spec.path) if model is None else "injected"
        self.device = resolve_device(spec.device)
        self.class_map = ontology_map(self.model.names, spec.ontology, class_names)
        self._merging = len(set(self.class_map.values())) < len(self.class_map)

    @property
    def source_names(self) -> list[str]:
        return self.spec.source_names

    @property
    def classes(self) -> list[str]:
        """The project classes this detector can produce (its ontology's targets)."""
        return sorted(set(self.class_map.values()))

    def predict(self, paths: Sequence[str]) -> tuple[dict[str, list[Boxes | None]], list[str]]:
        """``({source: boxes per image}, errors per image ('' when fine))``."""
        errors = [""] * len(paths)
        plain = self._run(list(paths), errors, flip=False)
        out = {self.name: plain}
        if self.spec.tta:
            out[f"{self.name}_flip"] = self._run(list(paths), errors, flip=True)
        return out, errors

    def _run(self, paths: list[str], errors: list[str], *, flip: bool) -> list[Boxes | None]:
        results: list[Boxes | None] = []
        offset = 0
        for chunk in _chunks(paths, self.spec.batch):
            run = lambda c: self._predict_batch(c, flip)  # noqa: E731
            results.extend(_safe_batches(chunk, run, errors, offset))
            offset += len(chunk)
        return results

    def _predict_batch(self, paths: Sequence[str], flip: bool) -> list[Boxes]:
        source: list[Any] = list(paths)
        if flip:
            source = [_read_mirrored(p) for p in paths]
        results = self.model.predict(
            source,
            conf=self.spec.min_conf,
            iou=self.spec.iou,
            imgsz=self.spec.imgsz,
            batch=self.spec.batch,
            device=self.device,
            max_det=self.spec.max_det,
            verbose=False,
            stream=True,
        )
        return [self._boxes(result, flip) for result in results]

    def _boxes(self, result: Any, flip: bool) -> Boxes:
        data = result.boxes
        xyxy = data.xyxyn.cpu().numpy().astype(np.float64).reshape(-1, 4)
        cls = data.cls.cpu().numpy().astype(int)
        conf = data.conf.cpu().numpy().astype(np.float64)
        if flip:
            xyxy = np.column_stack([1 - xyxy[:, 2], xyxy[:, 1], 1 - xyxy[:, 0], xyxy[:, 3]])
        keep = np.array([c in self.class_map for c in cls], dtype=bool)
        labels = np.array([self.class_map.get(c, "") for c in cls], dtype=object)
        boxes = Boxes(np.clip(xyxy[keep], 0, 1), labels[keep], conf[keep])
        return nms_per_class(boxes, self.spec.iou) if self._merging else boxes


def nms_per_class(boxes: Boxes, iou: float) -> Boxes:
    """Non-max suppression per project class (needed when the ontology merges classes,
    e.g. a ``car`` and a ``truck`` box on the same object both become ``vehicle``)."""
    from supervision.detection.utils.iou_and_nms import box_non_max_suppression

    if len(boxes) < 2:
        return boxes
    codes = {label: i for i, label in enumerate(dict.fromkeys(boxes.labels.tolist()))}
    classes = np.array([codes[label] for label in boxes.labels], dtype=np.float64)
    predictions = np.column_stack([boxes.xyxy, boxes.confidence, classes])
    keep = box_non_max_suppression(predictions, iou_threshold=iou)
    return boxes.subset(keep)


def _read_mirrored(path: str) -> np.ndarray:
    from ultralytics.utils.patches import imread

    image = imread(path)
    if image is None:
        raise ValueError(f"cannot decode {path}")
    return np.ascontiguousarray(image[:, ::-1])


class YoloClassifier:
    """Class probabilities per image; model classes mapped to one project class add up.

    Implements the text labelers' protocol (``predict(item_ids, texts)``) with image paths
    for texts, so classification reuses the candidate table and the label model. An image
    whose mapped probability mass is zero, or that fails, abstains (a NaN row).
    """

    soft = True

    def __init__(
        self, spec: YoloClsLabelerSpec, class_names: Sequence[str], *, model: Any = None
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.model = model if model is not None else load_yolo(spec.path, "classify")
        self.version = model_version(spec.path) if model is None else "injected"
        self.device = resolve_device(spec.device)
        self.class_names = list(class_names)
        mapping = ontology_map(self.model.names, spec.ontology, class_names)
        self._matrix = np.zeros((len(self.model.names), len(class_names)))
        for index, target in mapping.items():
            self._matrix[index, self.class_names.index(target)] = 1.0
        self.errors: list[str] = []

    def predict(self, item_ids: Sequence[str], texts: Sequence[str]) -> LabelerOutput:
        paths = list(texts)
        probs = np.full((len(paths), len(self.class_names)), np.nan)
        self.errors = [""] * len(paths)
        offset = 0
        for chunk in _chunks(paths, self.spec.batch):
            rows = _safe_batches(chunk, self._probs, self.errors, offset)
            for i, row in enumerate(rows):
                if row is not None:
                    probs[offset + i] = row
            offset += len(chunk)
        return LabelerOutput(self.name, self.version, probs)

    def _probs(self, paths: Sequence[str]) -> list[np.ndarray | None]:
        results = self.model.predict(
            list(paths),
            imgsz=self.spec.imgsz,
            batch=self.spec.batch,
            device=self.device,
            verbose=False,
            stream=True,
        )
        out: list[np.ndarray | None] = []
        for result in results:
            mass = result.probs.data.cpu().numpy().astype(np.float64) @ self._matrix
            out.append(mass / mass.sum() if mass.sum() > 0 else None)
        return out


def _safe_batches(
    chunk: Sequence[str],
    run: Callable[[Sequence[str]], list[Any]],
    errors: list[str],
    offset: int,
) -> list[Any]:
    """``run(chunk)``; when the chunk fails, each item alone, ``None`` and its error for those
    that still fail."""
    try:
        return run(chunk)
    except Exception:  # retry one by one to find the image at fault
        out: list[Any] = []
        for i, path in enumerate(chunk):
            try:
                out.extend(run([path]))
            except Exception as exc:
                out.append(None)
                errors[offset + i] = f"{type(exc).__name__}: {exc}"[:300]
        return out
