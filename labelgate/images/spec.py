"""Project-file sections for image projects: the image source and the YOLO labelers.

``labelgate.spec`` references these models; this module must not import it (it is imported
from there). A detector's class names are mapped to the project's classes by an ``ontology``
(e.g. COCO ``car`` and ``truck`` → ``vehicle``); detector classes it does not name are dropped.
An empty ontology maps every detector class whose name is a project class to itself.
"""

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

IMAGE_MODALITIES = ("image_detection", "image_classification")
IMAGE_FORMATS = ("jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff")
_NAME = r"^[a-z][a-z0-9_]{0,62}$"  # the same rule as labelgate.spec.NAME_PATTERN
_DEVICE = r"^(auto|cpu|mps|cuda|cuda:\d+|\d+)$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def is_image_modality(modality: str) -> bool:
    return modality in IMAGE_MODALITIES


class ImageLabelsSpec(_Strict):
    """Existing labels for part of the source (a gold subset), imported as reviews."""

    format: Literal["yolo", "coco"]
    # yolo: a folder of ``<image stem>.txt`` files; coco: a COCO JSON file.
    path: Path
    # yolo: class names by class index; default: the project's classes in order.
    names: list[str] | None = None


class ImageSourceSpec(_Strict):
    """A folder of images; each sub-folder (or the folder itself) is one batch."""

    path: Path
    formats: tuple[Literal["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff"], ...] = IMAGE_FORMATS
    max_bytes: Annotated[int, Field(gt=0)] = 50 * 2**20
    # Decompression-bomb guard: images whose header promises more pixels are quarantined.
    max_pixels: Annotated[int, Field(gt=0)] = 40_000_000
    labels: ImageLabelsSpec | None = None

    def with_base(self, base: Path) -> "ImageSourceSpec":
        """Relative paths resolved against ``base`` (the project file's folder)."""
        labels = self.labels
        if labels is not None:
            labels = labels.model_copy(update={"path": _resolve(base, labels.path)})
        return self.model_copy(update={"path": _resolve(base, self.path), "labels": labels})


class _YoloCommon(_Strict):
    path: Path  # .pt, .onnx, an OpenVINO *_openvino_model/ folder: whatever ultralytics loads
    imgsz: Annotated[int, Field(ge=32, le=4096)] = 640
    batch: Annotated[int, Field(gt=0, le=1024)] = 16
    device: Annotated[str, Field(pattern=_DEVICE)] = "auto"  # auto: GPU when there is one
    ontology: dict[str, str] = Field(default_factory=dict)  # model class -> project class


class YoloLabelerSpec(_YoloCommon):
    """An ultralytics detector. Boxes >= ``conf`` make the label; boxes down to
    ``candidate_conf`` are kept as evidence of objects the label may miss."""

    type: Literal["yolo"]
    name: Annotated[str, Field(pattern=_NAME)] = "yolo"
    conf: Annotated[float, Field(gt=0, lt=1)] = 0.25
    iou: Annotated[float, Field(gt=0, lt=1)] = 0.7
    candidate_conf: Annotated[float, Field(gt=0, lt=1)] | None = None  # default conf / 2
    max_det: Annotated[int, Field(gt=0, le=10_000)] = 300
    # Test-time augmentation: a second pass on mirrored images, an extra source ``<name>_flip``.
    tta: bool = False

    @model_validator(mode="after")
    def _candidate_below_conf(self) -> "YoloLabelerSpec":
        if self.candidate_conf is not None and self.candidate_conf > self.conf:
            raise ValueError(
                f"candidate_conf ({self.candidate_conf}) must not be above conf ({self.conf})"
            )
        return self

    @property
    def min_conf(self) -> float:
        return self.candidate_conf if self.candidate_conf is not None else self.conf / 2

    @property
    def source_names(self) -> list[str]:
        return [self.name, f"{self.name}_flip"] if self.tta else [self.name]


class YoloClsLabelerSpec(_YoloCommon):
    """An ultralytics classifier; probabilities of model classes mapped to one project
    class are added up."""

    type: Literal["yolo_cls"]
    name: Annotated[str, Field(pattern=_NAME)] = "yolo_cls"
    imgsz: Annotated[int, Field(ge=32, le=4096)] = 224

    @field_validator("ontology")
    @classmethod
    def _nonempty_keys(cls, ontology: dict[str, str]) -> dict[str, str]:
        if any(not key for key in ontology):
            raise ValueError("ontology has an empty model class name")
        return ontology


YOLO_LABELER_TYPES = ("yolo", "yolo_cls")


def check_class_count(modality: str | None, n: int) -> None:
    """Only a detection project may have a single class (e.g. ``vehicle``)."""
    if modality != "image_detection" and n < 2:
        raise ValueError(f"List should have at least 2 items for modality {modality!r}")


def check_project(spec: Any) -> None:
    """Modality, source and labelers must fit together; raises ``ValueError`` naming the field.

    ``spec`` is a ``labelgate.spec.ProjectSpec`` (not imported here: it imports this module).
    """
    image = is_image_modality(spec.modality)
    wanted = {"image_detection": "yolo", "image_classification": "yolo_cls"}.get(spec.modality)
    names = set(spec.class_names)
    for labeler in spec.labelers:
        where = f"labelers.{labeler.name}"
        if labeler.type in YOLO_LABELER_TYPES and labeler.type != wanted:
            raise ValueError(
                f"{where}.type: {labeler.type!r} does not fit modality {spec.modality!r}"
                + (f" (use {wanted!r})" if wanted else "")
            )
        if image and labeler.type != wanted:
            raise ValueError(
                f"{where}.type: modality {spec.modality!r} takes {wanted!r} labelers, "
                f"not {labeler.type!r}"
            )
        if labeler.type in YOLO_LABELER_TYPES:
            unknown = sorted(set(labeler.ontology.values()) - names)
            if unknown:
                raise ValueError(f"{where}.ontology: maps to unknown classes {unknown}")
    sources = [n for labeler in spec.labelers for n in getattr(labeler, "source_names", [])]
    clashes = sorted({n for n in sources if sources.count(n) > 1})
    if clashes:
        raise ValueError(f"labelers: source names {clashes} are used twice (tta adds '_flip')")


def _resolve(base: Path, value: Path) -> Path:
    return value if value.is_absolute() else (base / value).resolve()
