"""Detectors score each image once per model.

Boxes are cached by (model key, SHA-256 of the image file), so a re-label (the schedule, the
champion sensor, ``labelgate models relabel``) or a re-run of candidate_labels runs a detector
only on images it has not scored: new images, and every image after its model changes. The
champion's key is its model id; a teacher's is its weights hash plus the settings that shape
its boxes (thresholds, image size, ontology, project classes), so editing those re-scores.
The text champion does the same with its probabilities (:mod:`labelgate.models.labeler`). An
image a detector failed on is not cached: it is tried again next time.
"""

import hashlib
import json
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


def _as_cached(boxes: Boxes | None, error: str, class_names: Sequence[str]) -> Boxes | None:
    """Fresh boxes at the cache's (float32) precision, so a run that scores an image and one
    that reads it from the cache give the very same candidates."""
    if boxes is None or error:
        return boxes
    return decode_boxes(encode_boxes(boxes, class_names).astype(np.float32), class_names)


class CachedDetector(YoloDetector):
    """A detector whose boxes (each of its sources: plain and, with ``tta``, mirrored) are
    cached per image; counts images it ran (``scored``) and took from the cache (``reused``).

    ``settings_in_key``: the cache key adds a digest of the spec's prediction settings to
    ``version`` (teachers, whose version is only the weights hash)."""

    def __init__(
        self,
        spec: YoloLabelerSpec,
        class_names: Sequence[str],
        cache: EmbeddingCache,
        *,
        settings_in_key: bool = False,
    ) -> None:
        super().__init__(spec, class_names)
        self.class_names = list(class_names)
        self.cache = cache
        self.settings_in_key = settings_in_key
        self.scored = 0
        self.reused = 0

    @property
    def cache_key(self) -> str:
        if not self.settings_in_key:
            return self.version
        spec = self.spec
        settings = {
            "min_conf": spec.min_conf,
            "iou": spec.iou,
            "imgsz": spec.imgsz,
            "max_det": spec.max_det,
            "class_map": sorted((str(k), v) for k, v in self.class_map.items()),
            "class_names": self.class_names,
        }
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
        return f"{self.version}:{digest[:12]}"

    def _source_keys(self) -> dict[str, str]:
        key = self.cache_key
        return {s: key if s == self.name else f"{key}:{s}" for s in self.source_names}

    def predict(self, paths: Sequence[str]) -> tuple[dict[str, list[Boxes | None]], list[str]]:
        names = self.class_names
        keys = self._source_keys()
        digests = [_digest(p) for p in paths]
        readable = [d for d in digests if d is not None]
        known = {
            source: {d: decode_boxes(r, names) for d, r in self.cache.get(key, readable).items()}
            for source, key in keys.items()
        }
        missing = [
            i
            for i, d in enumerate(digests)
            if d is None or any(d not in found for found in known.values())
        ]
        results = {
            source: [found.get(d) if d else None for d in digests]
            for source, found in known.items()
        }
        errors = [""] * len(paths)
        if missing:
            fresh, fresh_errors = super().predict([paths[i] for i in missing])
            for j, i in enumerate(missing):
                errors[i] = fresh_errors[j]
                for source in keys:
                    results[source][i] = _as_cached(fresh[source][j], fresh_errors[j], names)
            for source, key in keys.items():
                self._store(
                    key,
                    [
                        (digests[i], fresh[source][j], fresh_errors[j])
                        for j, i in enumerate(missing)
                    ],
                )
        self.scored += len(missing)
        self.reused += len(paths) - len(missing)
        return results, errors

    def _store(self, key: str, scored: list[tuple[str | None, Boxes | None, str]]) -> None:
        done = {
            d: encode_boxes(b, self.class_names)
            for d, b, e in scored
            if d and b is not None and not e
        }
        rows = np.empty(len(done), dtype=object)  # one row per image, any length
        for j, row in enumerate(done.values()):
            rows[j] = row
        self.cache.put(key, list(done), rows)
