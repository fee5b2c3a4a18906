"""Modalities: what text, image detection and image classification do differently; the
asset graph is built once over :class:`Modality` (see ``base`` for how to add one)."""

from collections.abc import Callable

from labelgate.modalities.base import Modality
from labelgate.spec import ProjectSpec


def _text(spec: ProjectSpec) -> Modality:
    from labelgate.modalities.text import TextModality

    return TextModality(spec)


def _detection(spec: ProjectSpec) -> Modality:
    from labelgate.modalities.detection import DetectionModality

    return DetectionModality(spec)


def _classification(spec: ProjectSpec) -> Modality:
    from labelgate.modalities.classification import ImageClassificationModality

    return ImageClassificationModality(spec)


# spec.modality -> the modality's constructor (imported on use: images pull in ultralytics)
MODALITIES: dict[str, Callable[[ProjectSpec], Modality]] = {
    "text": _text,
    "image_detection": _detection,
    "image_classification": _classification,
}


def modality_for(spec: ProjectSpec) -> Modality:
    """The modality of a project."""
    if spec.modality not in MODALITIES:
        raise ValueError(f"no modality {spec.modality!r}; known: {sorted(MODALITIES)}")
    return MODALITIES[spec.modality](spec)
