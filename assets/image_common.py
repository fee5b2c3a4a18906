"""Image projects use the same :class:`assets.common.ProjectAssets` as text; the image
specifics (detectors, box threshold, image data) live in ``labelgate.modalities``."""

from assets.common import ProjectAssets

ImageProjectAssets = ProjectAssets  # the name assets/image_models.py still imports

__all__ = ["ImageProjectAssets"]
