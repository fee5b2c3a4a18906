"""What the image asset factories share: the project's image data and model builders."""

from dataclasses import dataclass
from functools import cached_property

from assets.common import ProjectAssets
from labelgate.images.labelers import YoloClassifier, YoloDetector
from labelgate.images.project import ImageProjectData
from labelgate.images.spec import YoloClsLabelerSpec, YoloLabelerSpec
from labelgate.models.image_service import champion_detector


@dataclass(frozen=True)
class ImageProjectAssets(ProjectAssets):
    """An image project's keys and partitions (as for text) with image-aware data access."""

    @cached_property
    def data(self) -> ImageProjectData:  # type: ignore[override]
        return ImageProjectData(self.spec)

    @property
    def detection(self) -> bool:
        return self.spec.modality == "image_detection"

    def detectors(self) -> list[YoloDetector]:
        """The configured detectors, plus the promoted student (source ``champion``, its
        version the model id) once the project has one."""
        names = self.spec.class_names
        detectors = [
            YoloDetector(s, names) for s in self.spec.labelers if isinstance(s, YoloLabelerSpec)
        ]
        champion = champion_detector(self.spec)
        return detectors if champion is None else [*detectors, champion]

    def classifiers(self) -> list[YoloClassifier]:
        names = self.spec.class_names
        return [
            YoloClassifier(s, names)
            for s in self.spec.labelers
            if isinstance(s, YoloClsLabelerSpec)
        ]

    @property
    def box_threshold(self) -> float:
        """Fused boxes at or above the lowest detector ``conf`` make the label."""
        return min(s.conf for s in self.spec.labelers if isinstance(s, YoloLabelerSpec))
