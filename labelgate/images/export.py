"""Export accepted box sets: COCO JSON, a YOLO dataset folder, Label Studio JSON.

Inputs are the accepted labels (``item_id``, ``boxes``, ...) and the items (``item_id``,
``path``, ``width``, ``height``). Image files in a YOLO dataset are named ``<item_id><suffix>``
so a re-import maps them back without ambiguity; the train/val split is a pure function of
the item id and the seed, so re-exporting puts every image in the same split.
"""

import hashlib
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import yaml

from labelgate.images.exchange import label_studio_tasks, source_id_field, write_label_studio
from labelgate.images.label_sets import box_summary
from labelgate.storage import write_text_atomic


def _joined(accepted: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    columns = ["item_id", "path", "width", "height"] + ["source_id"] * ("source_id" in items)
    joined = accepted[["item_id", "boxes"]].merge(
        items[columns].drop_duplicates("item_id"), on="item_id", how="left"
    )
    missing = joined["path"].isna()
    if missing.any():
        raise ValueError(f"{int(missing.sum())} accepted item(s) have no image in raw_items")
    return joined.sort_values("item_id", kind="stable").reset_index(drop=True)


def export_coco(
    accepted: pd.DataFrame, items: pd.DataFrame, class_names: Sequence[str], out: Path
) -> Path:
    """One COCO detection JSON; bbox ``[x, y, w, h]`` in pixels, category ids from 1."""
    joined = _joined(accepted, items)
    category = {name: i + 1 for i, name in enumerate(class_names)}
    images, annotations = [], []
    for image_id, row in enumerate(joined.itertuples(index=False), start=1):
        width, height = int(row.width), int(row.height)
        images.append(
            {
                "id": image_id,
                "file_name": Path(str(row.path)).name,
                "width": width,
                "height": height,
                "labelgate_item_id": str(row.item_id),
                **source_id_field(row),
            }
        )
        for box in row.boxes:
            x, y = box["x1"] * width, box["y1"] * height
            w, h = (box["x2"] - box["x1"]) * width, (box["y2"] - box["y1"]) * height
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": category[str(box["label"])],
                    "bbox": [round(v, 3) for v in (x, y, w, h)],
                    "area": round(w * h, 3),
                    "iscrowd": 0,
                }
            )
    coco = {
        "info": {"description": "labelgate accepted labels"},
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i, "name": n, "supercategory": ""} for n, i in category.items()],
    }
    out = Path(out)
    write_text_atomic(out, json.dumps(coco, indent=1) + "\n")
    return out


def split_of(item_id: str, *, val_fraction: float, seed: int) -> str:
    """``train`` or ``val``, a deterministic function of the item id and seed."""
    digest = hashlib.sha256(f"{seed}:{item_id}".encode()).digest()
    return "val" if int.from_bytes(digest[:8], "big") / 2**64 < val_fraction else "train"


def export_yolo(
    accepted: pd.DataFrame,
    items: pd.DataFrame,
    class_names: Sequence[str],
    out: Path,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    split_by: Mapping[str, str] | None = None,
) -> Path:
    """A YOLO dataset: ``images/{train,val}``, ``labels/{train,val}``, ``data.yaml``.

    ``split_by`` (item id -> ``train``/``val``) overrides the hashed split, e.g. to hold out
    a model's evaluation items.

    Built in a temporary folder beside ``out`` and renamed into place, so a failed export
    leaves no half dataset. Images are hard-linked where possible, else copied.
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    index = {name: i for i, name in enumerate(class_names)}
    for row in _joined(accepted, items).itertuples(index=False):
        if split_by is not None:
            split = split_by[str(row.item_id)]
            if split not in ("train", "val"):
                raise ValueError(f"split of {row.item_id} must be train or val, not {split!r}")
        else:
            split = split_of(str(row.item_id), val_fraction=val_fraction, seed=seed)
        source = Path(str(row.path))
        image = tmp / "images" / split / f"{row.item_id}{source.suffix.lower()}"
        image.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, image)
        except OSError:
            shutil.copy2(source, image)
        lines = []
        for box in row.boxes:
            cx, cy = (box["x1"] + box["x2"]) / 2, (box["y1"] + box["y2"]) / 2
            w, h = box["x2"] - box["x1"], box["y2"] - box["y1"]
            lines.append(f"{index[str(box['label'])]} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
        label = tmp / "labels" / split / f"{row.item_id}.txt"
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    for split in ("train", "val"):
        (tmp / "images" / split).mkdir(parents=True, exist_ok=True)
        (tmp / "labels" / split).mkdir(parents=True, exist_ok=True)
    data = {
        "path": str(out.resolve()),
        "train": "images/train",
        "val": "images/val",
        "names": dict(enumerate(class_names)),
    }
    (tmp / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return out


def export_label_studio(
    accepted: pd.DataFrame,
    items: pd.DataFrame,
    class_names: Sequence[str],
    out: Path,
    *,
    image_root: Path | None = None,
) -> Path:
    """Label Studio tasks whose annotations are the accepted boxes (importable as reviews)."""
    joined = _joined(accepted, items)
    tasks = label_studio_tasks(joined, key="annotations", image_root=image_root)
    path, _ = write_label_studio(tasks, Path(out), class_names)
    return path


IMAGE_EXPORT_FORMATS = ("coco", "yolo", "labelstudio")


def export_accepted(
    accepted: pd.DataFrame,
    items: pd.DataFrame,
    class_names: Sequence[str],
    fmt: str,
    out_dir: Path,
    *,
    name: str,
    val_fraction: float = 0.2,
    seed: int = 0,
) -> Path:
    """Export accepted box sets as ``fmt`` into ``out_dir`` (file or folder named ``name``)."""
    out_dir = Path(out_dir)
    if fmt == "coco":
        return export_coco(accepted, items, class_names, out_dir / f"{name}.coco.json")
    if fmt == "yolo":
        return export_yolo(
            accepted, items, class_names, out_dir / f"{name}_yolo", val_fraction=val_fraction,
            seed=seed,
        )  # fmt: skip
    if fmt == "labelstudio":
        return export_label_studio(accepted, items, class_names, out_dir / f"{name}.ls.json")
    raise ValueError(f"unknown image export format {fmt!r}; use one of {IMAGE_EXPORT_FORMATS}")


IMAGE_TABLE_COLUMNS = [
    "item_id", "path", "label", "boxes", "n_boxes", "source", "confidence", "reviewer", "run_id",
]  # fmt: skip


def image_export_frame(accepted: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Accepted image labels as a flat table (CSV / Parquet): the image path, ``label`` (the
    class, or for detection a summary such as ``2 box(es): pill x2``) and, for detection,
    ``boxes`` as JSON records (normalized xyxy) and ``n_boxes``."""
    frame = accepted.merge(
        items[["item_id", "path"]].drop_duplicates("item_id"), on="item_id", how="left"
    )
    if "boxes" in frame.columns:
        records = frame["boxes"].map(lambda b: [dict(r) for r in ([] if b is None else b)])
        frame = frame.assign(
            label=records.map(box_summary),
            boxes=records.map(lambda r: json.dumps(r, sort_keys=True)),
            n_boxes=records.map(len),
        )
    else:
        frame = frame.assign(boxes=None, n_boxes=None)
    return frame[IMAGE_TABLE_COLUMNS].sort_values("item_id", kind="stable").reset_index(drop=True)
