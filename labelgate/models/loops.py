"""Which model loop a project runs, by modality."""

from collections.abc import Callable

from labelgate.embeddings import CachedEmbedder
from labelgate.models.image_loop import classification_loop, detection_loop
from labelgate.models.loop import ModelLoop
from labelgate.models.text_loop import text_loop
from labelgate.spec import ProjectSpec


def trains_student(spec: ProjectSpec) -> bool:
    """Whether the project distills a student: a ``training:`` section and a modality with
    one (image classification has none yet)."""
    return spec.training is not None and spec.modality != "image_classification"


def model_loop(
    spec: ProjectSpec,
    embedder: Callable[[], CachedEmbedder] | None = None,
    *,
    device: str = "auto",
) -> ModelLoop:
    """``embedder`` is called only by text steps that embed (it may load the encoder); without
    one (e.g. to describe the assets) those steps fail with a clear error."""
    if spec.modality == "image_detection":
        return detection_loop(spec)
    if spec.modality == "image_classification":
        return classification_loop(spec)
    return text_loop(spec, embedder, device=device)
