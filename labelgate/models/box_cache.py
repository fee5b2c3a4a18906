"""The champion detector scores each image once per model.

Its boxes are cached by (model id, SHA-256 of the image file), so a re-label (the schedule,
the champion sensor, ``labelgate models relabel``) runs the student only on images it has not
scored: new images, and every image after a new champion is promoted. The text champion does
the same with its probabilities (:mod:`labelgate.models.labeler`). An image the detector failed
on is not cached: it is tried again next time.
"""

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from labelgate.ids import sha256_file
from labelgate.images.boxes import Boxes
from labelgate.images.labelers import YoloDetector
from labelgate.spec import ProjectSpec


class BoxCache:
    """SQLite table of box sets keyed by (model id, image SHA-256)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS boxes (model TEXT NOT NULL, image TEXT NOT NULL,"
                " records TEXT NOT NULL, PRIMARY KEY (model, image))"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def get(self, model: str, images: Sequence[str]) -> dict[str, Boxes]:
        found: dict[str, Boxes] = {}
        with self._connect() as db:
            for start in range(0, len(images), 900):  # SQLite's bound-parameter limit
                chunk = list(images[start : start + 900])
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    f"SELECT image, records FROM boxes WHERE model=? AND image IN ({marks})",
                    [model, *chunk],
                )
                for image, records in rows:
                    found[image] = Boxes.from_records(json.loads(records))
        return found

    def put(self, model: str, boxes: dict[str, Boxes]) -> None:
        rows = [(model, image, json.dumps(b.to_records())) for image, b in boxes.items()]
        with self._connect() as db:
            db.executemany("INSERT OR IGNORE INTO boxes VALUES (?, ?, ?)", rows)

    def count(self, model: str) -> int:
        with self._connect() as db:
            return int(
                db.execute("SELECT COUNT(*) FROM boxes WHERE model=?", [model]).fetchone()[0]
            )


def box_cache(spec: ProjectSpec) -> BoxCache:
    return BoxCache(spec.project_dir / "models" / "box_scores.sqlite")


def _digest(path: str) -> str | None:
    try:
        return sha256_file(Path(path))
    except OSError:
        return None  # unreadable: the detector records the error


class CachedDetector(YoloDetector):
    """A detector (without test-time augmentation) whose boxes are cached per image; counts
    images it ran (``scored``) and took from the cache (``reused``)."""

    cache: BoxCache
    scored: int = 0
    reused: int = 0

    def with_cache(self, cache: BoxCache) -> "CachedDetector":
        if self.spec.tta:
            raise ValueError("a cached detector runs without test-time augmentation")
        self.cache = cache
        self.scored = self.reused = 0
        return self

    def predict(self, paths: Sequence[str]) -> tuple[dict[str, list[Boxes | None]], list[str]]:
        digests = [_digest(p) for p in paths]
        known = self.cache.get(self.version, [d for d in digests if d is not None])
        missing = [i for i, d in enumerate(digests) if d not in known]
        results: list[Boxes | None] = [known.get(d) if d else None for d in digests]
        errors = [""] * len(paths)
        if missing:
            fresh, fresh_errors = super().predict([paths[i] for i in missing])
            done: dict[str, Boxes] = {}
            for i, boxes, error in zip(missing, fresh[self.name], fresh_errors, strict=True):
                results[i], errors[i] = boxes, error
                digest = digests[i]
                if boxes is not None and not error and digest is not None:
                    done[digest] = boxes
            self.cache.put(self.version, done)
        self.scored += len(missing)
        self.reused += len(paths) - len(missing)
        return {self.name: results}, errors
