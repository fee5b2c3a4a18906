"""Box sets in and out of reviewer and dataset formats: Label Studio, YOLO txt, COCO JSON.

Readers return one row per labeled image (``item_id``, ``boxes``, ``reviewer``) and refuse a
file as a whole: every bad row is collected first and one
:class:`~labelgate.errors.ReviewFileError` names them all. Images are matched to items by
item id where the file carries it (Label Studio ``data.item_id``, a COCO image's
``labelgate_item_id``, a YOLO file named ``<item_id>.txt``), otherwise by file name stem.

Label Studio coordinates are percent of the image (x, y of the top-left corner, width,
height); YOLO is ``class cx cy w h`` normalized; COCO is ``[x, y, w, h]`` in pixels.
"""

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from labelgate.errors import ReviewFileError
from labelgate.identities import IdentityError, ReviewerResolver, safe_name
from labelgate.images.boxes import validate_box
from labelgate.review.label_studio import FROM_NAME, completed_annotations, labeling_config
from labelgate.storage import write_text_atomic

TO_NAME = "image"
REVIEW_COLUMNS = ["item_id", "boxes", "reviewer"]
Problems = list[tuple[int | str, str]]


def label_studio_config(class_names: Sequence[str]) -> str:
    """Label Studio config: one image, rectangles labeled with the project's classes."""
    return labeling_config("Image", "RectangleLabels", "Label", class_names)


def image_url(path: str, image_root: Path | None = None) -> str:
    """Where Label Studio finds the image: its local-files URL (relative to ``image_root``,
    the LOCAL_FILES_DOCUMENT_ROOT, when given)."""
    file = Path(path)
    relative = file.relative_to(image_root) if image_root else Path(*file.parts[1:])
    return f"/data/local-files/?d={relative.as_posix()}"


def to_label_studio(records: Sequence[Mapping[str, Any]], width: int, height: int) -> list[dict]:
    """Rectangle results in percent coordinates for normalized xyxy box records."""
    return [
        {
            "id": f"b{i}",
            "from_name": FROM_NAME,
            "to_name": TO_NAME,
            "type": "rectanglelabels",
            "original_width": int(width),
            "original_height": int(height),
            "image_rotation": 0,
            "value": {
                "x": 100.0 * r["x1"],
                "y": 100.0 * r["y1"],
                "width": 100.0 * (r["x2"] - r["x1"]),
                "height": 100.0 * (r["y2"] - r["y1"]),
                "rotation": 0,
                "rectanglelabels": [str(r["label"])],
            },
            **({"score": float(r["confidence"])} if "confidence" in r else {}),
        }
        for i, r in enumerate(records)
    ]


def source_id_field(row: Any) -> dict[str, str]:
    """``{"source_id": ...}`` when the row carries the user's own id, else nothing."""
    value = getattr(row, "source_id", None)
    return {"source_id": value} if isinstance(value, str) else {}


def label_studio_tasks(
    frame: pd.DataFrame,
    *,
    key: str,
    model_version: str = "",
    image_root: Path | None = None,
    completed_by: str = "labelgate",
) -> list[dict[str, Any]]:
    """Tasks for rows with ``item_id, path, width, height, boxes`` (and ``confidence``).

    ``key="predictions"``: pre-filled suggestions for reviewers; ``key="annotations"``: final
    labels (an export of accepted labels).
    """
    tasks = []
    for row in frame.itertuples(index=False):
        result = to_label_studio(list(row.boxes), row.width, row.height)
        entry: dict[str, Any] = {"result": result}
        if key == "predictions":
            entry.update(model_version=model_version, score=float(row.confidence))
        else:
            entry.update(completed_by=completed_by, was_cancelled=False)
        tasks.append(
            {
                "data": {
                    "item_id": str(row.item_id),
                    "image": image_url(str(row.path), image_root),
                    "width": int(row.width),
                    "height": int(row.height),
                    **source_id_field(row),
                },
                key: [entry],
            }
        )
    return tasks


def write_label_studio(
    tasks: list[dict[str, Any]], path: Path, class_names: Sequence[str]
) -> tuple[Path, Path]:
    """Write tasks and, beside them as ``<stem>.label_config.xml``, the labeling config."""
    path = Path(path)
    write_text_atomic(path, json.dumps(tasks, ensure_ascii=False, indent=2) + "\n")
    config = path.with_name(f"{path.stem}.label_config.xml")
    write_text_atomic(config, label_studio_config(class_names))
    return path, config


class _Reader:
    """Collects rows and problems, then validates them against items and classes."""

    def __init__(
        self,
        path: Path,
        known_items: set[str],
        class_names: Sequence[str],
        *,
        skip_unmatched: bool = False,
        reviewers: ReviewerResolver = safe_name,
    ) -> None:
        self.path = path
        self.reviewers = reviewers
        self.skip_unmatched = skip_unmatched
        self.known = known_items
        self.classes = set(class_names)
        self.rows: list[tuple[int | str, str | None, list[dict[str, Any]], str | None]] = []
        self.bad: Problems = []

    def add(
        self, row: int | str, item_id: str | None, boxes: list[dict[str, Any]], reviewer: str | None
    ) -> None:
        self.rows.append((row, item_id, boxes, reviewer))

    def result(self) -> pd.DataFrame:
        out, seen = [], set()
        for row, item_id, boxes, reviewer in self.rows:
            problems = []
            if self.skip_unmatched and (item_id is None or item_id not in self.known):
                continue
            if item_id is None:
                problems.append("no item matches this image")
            elif item_id not in self.known:
                problems.append(f"unknown item id {item_id!r}")
            elif item_id in seen:
                problems.append(f"item {item_id!r} appears twice")
            if not reviewer:
                problems.append("missing reviewer")
            else:
                try:
                    reviewer = self.reviewers(reviewer)  # the canonical identity name
                except IdentityError as exc:
                    problems.append(str(exc))
            for i, box in enumerate(boxes):
                if box["label"] not in self.classes:
                    problems.append(
                        f"box {i}: label {box['label']!r} is not one of {sorted(self.classes)}"
                    )
                why = validate_box(box["x1"], box["y1"], box["x2"], box["y2"])
                if why:
                    problems.append(f"box {i}: {why}")
            if problems:
                self.bad.append((row, "; ".join(problems)))
            else:
                seen.add(item_id)
                out.append((item_id, [{**b, "confidence": 1.0} for b in boxes], reviewer))
        if not self.rows and not self.bad:
            self.bad.append(("file", "has no labeled images"))
        if self.bad:
            raise ReviewFileError(str(self.path), self.bad)
        return pd.DataFrame(out, columns=REVIEW_COLUMNS)


def _box(label: object, x1: float, y1: float, x2: float, y2: float) -> dict[str, Any]:
    return {"label": str(label), "x1": x1, "y1": y1, "x2": x2, "y2": y2, "confidence": 1.0}


def _reviewer(completed_by: Any) -> str | None:
    if isinstance(completed_by, dict):
        for key in ("email", "username", "id"):
            if completed_by.get(key) not in (None, ""):
                return str(completed_by[key])
        return None
    return None if completed_by in (None, "") else str(completed_by)


def read_label_studio(
    path: Path,
    *,
    known_items: set[str],
    class_names: Sequence[str],
    stem_to_item: Mapping[str, str] | None = None,
    reviewers: ReviewerResolver = safe_name,
) -> pd.DataFrame:
    """A Label Studio JSON export (``rectanglelabels``); tasks without annotation are skipped."""
    path = Path(path)
    reader = _Reader(path, known_items, class_names, reviewers=reviewers)
    try:
        tasks = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReviewFileError(str(path), [("file", f"not a readable JSON file: {exc}")]) from None
    if not isinstance(tasks, list):
        raise ReviewFileError(str(path), [("file", "expected a JSON list of Label Studio tasks")])
    for index, task in enumerate(tasks):
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            reader.bad.append((index, "is not a Label Studio task with 'data'"))
            continue
        annotations = completed_annotations(task)
        if not annotations:
            continue  # not reviewed yet
        data, last = task["data"], annotations[-1]
        item_id = data.get("item_id")
        if item_id is None and stem_to_item is not None:
            image = str(data.get("image", ""))
            item_id = stem_to_item.get(Path(image.split("?d=")[-1]).stem)
        boxes = []
        for result in last.get("result") or []:
            value = result.get("value") if isinstance(result, dict) else None
            if not isinstance(value, dict) or result.get("type") != "rectanglelabels":
                continue
            try:
                x, y = float(value["x"]) / 100, float(value["y"]) / 100
                w, h = float(value["width"]) / 100, float(value["height"]) / 100
                labels = value["rectanglelabels"]
                if float(value.get("rotation", 0) or 0) != 0:
                    raise ValueError("rotated rectangles are not supported")
                boxes.append(_box(labels[0], x, y, x + w, y + h))
            except (KeyError, IndexError, TypeError, ValueError) as exc:
                reader.bad.append((index, f"bad rectangle {value!r}: {exc}"))
        reader.add(index, None if item_id is None else str(item_id), boxes, _reviewer(
            last.get("completed_by")
        ))  # fmt: skip
    return reader.result()


def _yolo_names(folder: Path, default: Sequence[str]) -> list[str]:
    """Class names by index: ``data.yaml`` (``names``) in the folder or its parents, or
    ``classes.txt`` beside the labels, else ``default``."""
    for parent in (folder, *folder.parents[:2]):
        data_yaml = parent / "data.yaml"
        if data_yaml.is_file():
            names = (yaml.safe_load(data_yaml.read_text(encoding="utf-8")) or {}).get("names")
            if isinstance(names, dict):
                return [str(names[i]) for i in sorted(names)]
            if isinstance(names, list):
                return [str(n) for n in names]
        classes = parent / "classes.txt"
        if classes.is_file():
            return [n.strip() for n in classes.read_text(encoding="utf-8").splitlines() if n]
    return list(default)


def read_yolo_folder(
    folder: Path,
    *,
    known_items: set[str],
    class_names: Sequence[str],
    stem_to_item: Mapping[str, str],
    reviewer: str,
    names: Sequence[str] | None = None,
    skip_unmatched: bool = False,
    reviewers: ReviewerResolver = safe_name,
) -> pd.DataFrame:
    """Every ``*.txt`` under ``folder`` (``classes.txt`` aside): one labeled image each, an
    empty file meaning "no objects". Images without a file are not labeled.
    ``skip_unmatched``: ignore files of images that are not items (a gold folder)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReviewFileError(str(folder), [("folder", "does not exist or is not a folder")])
    by_index = list(names) if names is not None else _yolo_names(folder, class_names)
    reader = _Reader(
        folder, known_items, class_names, skip_unmatched=skip_unmatched, reviewers=reviewers
    )
    for file in sorted(folder.rglob("*.txt")):
        if file.name == "classes.txt":
            continue
        where = file.relative_to(folder).as_posix()
        item_id = file.stem if file.stem in known_items else stem_to_item.get(file.stem)
        boxes = []
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                cls, cx, cy, w, h = line.split()[:5]
                label = by_index[int(cls)]
                x, y, bw, bh = (float(v) for v in (cx, cy, w, h))
                boxes.append(_box(label, x - bw / 2, y - bh / 2, x + bw / 2, y + bh / 2))
            except (ValueError, IndexError) as exc:
                reader.bad.append((f"{where}:{number}", f"bad YOLO line {line!r}: {exc}"))
        reader.add(where, item_id, boxes, reviewer)
    return reader.result()


def read_coco(
    path: Path,
    *,
    known_items: set[str],
    class_names: Sequence[str],
    stem_to_item: Mapping[str, str],
    reviewer: str,
    skip_unmatched: bool = False,
    reviewers: ReviewerResolver = safe_name,
) -> pd.DataFrame:
    """A COCO detection JSON: every listed image is labeled (no annotation: no objects)."""
    path = Path(path)
    try:
        coco = json.loads(path.read_text(encoding="utf-8-sig"))
        categories = {int(c["id"]): str(c["name"]) for c in coco["categories"]}
        images = {int(i["id"]): i for i in coco["images"]}
        annotations = coco.get("annotations", [])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ReviewFileError(str(path), [("file", f"not a COCO detection file: {exc}")]) from None
    reader = _Reader(
        path, known_items, class_names, skip_unmatched=skip_unmatched, reviewers=reviewers
    )
    per_image: dict[int, list[dict[str, Any]]] = {i: [] for i in images}
    for index, ann in enumerate(annotations):
        try:
            image = images[int(ann["image_id"])]
            x, y, w, h = (float(v) for v in ann["bbox"])
            iw, ih = float(image["width"]), float(image["height"])
            label = categories[int(ann["category_id"])]
            per_image[int(ann["image_id"])].append(
                _box(label, x / iw, y / ih, (x + w) / iw, (y + h) / ih)
            )
        except (KeyError, ValueError, TypeError, ZeroDivisionError) as exc:
            reader.bad.append((f"annotation {index}", f"unusable annotation: {exc}"))
    for image_id, image in images.items():
        item_id = image.get("labelgate_item_id") or stem_to_item.get(
            Path(str(image.get("file_name", ""))).stem
        )
        reader.add(f"image {image_id}", item_id, per_image[image_id], reviewer)
    return reader.result()


def stems_to_items(items: pd.DataFrame) -> dict[str, str]:
    """File name stem → item id for items (``item_id``, ``path``); ambiguous stems left out."""
    stems = items.assign(stem=items["path"].map(lambda p: Path(str(p)).stem))
    counts = stems["stem"].value_counts()
    unique = stems[stems["stem"].map(counts) == 1]
    return dict(zip(unique["stem"], unique["item_id"].astype(str), strict=True))


def classification_config(class_names: Sequence[str]) -> str:
    """Label Studio config: one image, a single choice among the classes."""
    return labeling_config("Image", "Choices", "Choice", class_names, single=True)


def classification_tasks(
    queue: pd.DataFrame, *, model_version: str, image_root: Path | None = None
) -> list[dict[str, Any]]:
    """Tasks with a pre-filled choice for rows with ``item_id, path, predicted_label,
    confidence``; their export is read by the text review importer (choices)."""
    return [
        {
            "data": {
                "item_id": str(row.item_id),
                "image": image_url(str(row.path), image_root),
                **source_id_field(row),
            },
            "predictions": [
                {
                    "model_version": model_version,
                    "score": float(row.confidence),
                    "result": [
                        {
                            "from_name": FROM_NAME,
                            "to_name": TO_NAME,
                            "type": "choices",
                            "value": {"choices": [str(row.predicted_label)]},
                        }
                    ],
                }
            ],
        }
        for row in queue.itertuples(index=False)
    ]
