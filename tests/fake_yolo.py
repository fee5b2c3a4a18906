"""A stand-in for ultralytics models in fast image tests: boxes come from a table keyed by
image file name, per model file, and every image a model is run on is counted.

Install with ``install(monkeypatch, {"teacher.pt": boxes, "weights.pt@v1-a": boxes})``: a key
is a model file name, optionally ``@`` the folder it lies in (a registry model id), and its
value maps image file name -> ``[(label, x1, y1, x2, y2, confidence), ...]``.
"""

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

Box = tuple[str, float, float, float, float, float]
CLASSES = {0: "pill", 1: "tablet"}


class _Array:
    def __init__(self, values: Any, dtype: Any) -> None:
        self.values = np.asarray(values, dtype=dtype)

    def cpu(self) -> "_Array":
        return self

    def numpy(self) -> np.ndarray:
        return self.values


def _result(boxes: Sequence[Box]) -> SimpleNamespace:
    index = {name: i for i, name in CLASSES.items()}
    xyxy = np.array([b[1:5] for b in boxes], dtype=np.float64).reshape(-1, 4)
    return SimpleNamespace(
        boxes=SimpleNamespace(
            xyxyn=_Array(xyxy, np.float64),
            cls=_Array([index[b[0]] for b in boxes], np.int64),
            conf=_Array([b[5] for b in boxes], np.float64),
        )
    )


class FakeYolo:
    names = CLASSES

    def __init__(self, key: str, table: Mapping[str, Sequence[Box]], calls: Counter) -> None:
        self.key, self.table, self.calls = key, table, calls

    def predict(self, source: Sequence[str], **_: Any) -> Iterator[SimpleNamespace]:
        for path in source:
            self.calls[self.key] += 1
            yield _result(self.table.get(Path(path).name, []))


def install(monkeypatch: pytest.MonkeyPatch, models: Mapping[str, Mapping]) -> Counter:
    """Make ``load_yolo`` return fakes; returns the per-model count of images run."""
    calls: Counter = Counter()

    def load(path: Path, task: str) -> FakeYolo:
        path = Path(path)
        key = f"{path.name}@{path.parent.name}"
        if key not in models:
            key = path.name
        return FakeYolo(key, models[key], calls)

    monkeypatch.setattr("labelgate.images.labelers.load_yolo", load)
    return calls
