"""The champion detector scores each image once per model.

Its boxes are cached by (model id, SHA-256 of the image file), so a re-label (the schedule,
the champion sensor, ``labelgate models relabel``) runs the student only on images it has not
scored: new images, and every image after a new champion is promoted. The text champion does
the same with its probabilities (:mod:`labelgate.models.labeler`). An image the detector failed
on is not cached: it is tried again next time.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from labelgate.embeddings import EmbeddingCache
from labelgate.ids import sha256_file
from labelgate.images.boxes import Boxes
from labelgate.images.labelers import YoloDetector
from labelgate.images.spec import YoloLabelerSpec
from labelgate.spec import ProjectSpec

_FIELDS = 6  # class index, x1, y1, x2, y2, confidence


def box_cache(spec: ProjectSpec) -> EmbeddingCache:
    """Box sets keyed by (model id, image SHA-256), each flattened into a float32 row of
    ``_FIELDS`` numbers per box: the table the text champion's probabilities use."""
    return EmbeddingCache(spec.project_dir / "models" / "box_scores.sqlite")


def encode_boxes(boxes: Boxes, class_names: Sequence[str]) -> np.ndarray:
    index = np.array([class_names.index(str(label)) for label in boxes.labels], dtype=float)
    return np.column_stack([index, boxes.xyxy, boxes.confidence]).reshape(-1)


def decode_boxes(row: np.ndarray, class_names: Sequence[str]) -> Boxes:
    table = np.asarray(row, dtype=np.float64).reshape(-1, _FIELDS)
    labels = np.array([class_names[int(i)] for i in table[:, 0]], dtype=object)
    return Boxes(table[:, 1:5], labels, table[:, 5])


def _digest(path: str) -> str | None:
    try:
        return sha256_file(Path(path))
    except OSError:
        return None  # unreadable: the detector records the error


class CachedDetector(YoloDetector):
    """A detector (without test-time augmentation) whose boxes are cached per image; counts
    images it ran (``scored``) and took from the cache (``reused``)."""

    def __init__(
        self, spec: YoloLabelerSpec, class_names: Sequence[str], cache: EmbeddingCache
    ) -> None:
        if spec.tta:
            raise ValueError("a cached detector runs without test-time augmentation")
        super().__init__(spec, class_names)
        self.class_names = list(class_names)
        self.cache = cache
        self.scored = 0
        self.reused = 0

    def predict(self, paths: Sequence[str]) -> tuple[dict[str, list[Boxes | None]], list[str]]:
        names = self.class_names
        digests = [_digest(p) for p in paths]
        rows = self.cache.get(self.version, [d for d in digests if d is not None])
        known = {d: decode_boxes(row, names) for d, row in rows.items()}
        missing = [i for i, d in enumerate(digests) if d not in known]
        results: list[Boxes | None] = [known.get(d) if d else None for d in digests]
        errors = [""] * len(paths)
        if missing:
            fresh, fresh_errors = super().predict([paths[i] for i in missing])
            done: dict[str, np.ndarray] = {}
            for i, boxes, error in zip(missing, fresh[self.name], fresh_errors, strict=True):
                results[i], errors[i] = boxes, error
                digest = digests[i]
                if boxes is not None and not error and digest is not None:
                    done[digest] = encode_boxes(boxes, names)
            rows_out = np.empty(len(done), dtype=object)  # one row per image, any length
            for j, row in enumerate(done.values()):
                rows_out[j] = row
            self.cache.put(self.version, list(done), rows_out)
        self.scored += len(missing)
        self.reused += len(paths) - len(missing)
        return {self.name: results}, errors
