"""Image detection projects for tests: a project file beside an ``inbox`` of images, and the
real COCO data of ../shared/data (coco8 as a street-objects source, coco128's true boxes)."""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from labelgate.images.boxes import Boxes
from labelgate.images.demo_data import coco_class_names, truth_in_project_classes
from labelgate.images.exchange import read_yolo_folder, stems_to_items
from labelgate.spec import ProjectSpec, load_project
from tests.conftest import shared_data
from tests.projects import project_data

# COCO detector classes → the street-objects project's ``person`` and ``vehicle``
STREET_ONTOLOGY = {"person": "person", "car": "vehicle", "truck": "vehicle", "bus": "vehicle"}


def write_detection_project(
    folder: Path,
    *,
    name: str,
    classes: Mapping[str, str],
    labelers: Sequence[Mapping[str, Any]],
    file: str = "p.yaml",
    **extra: Any,
) -> ProjectSpec:
    """``folder/file``: an ``image_detection`` project reading ``inbox`` and storing under
    ``store`` (both beside it), with ``classes`` (name → description), ``labelers`` and any
    ``extra`` top-level keys (which win)."""
    data = project_data(
        name=name,
        modality="image_detection",
        classes=classes,
        labelers=labelers,
        **{"storage": "store", **extra},
    )
    path = folder / file
    path.write_text(yaml.safe_dump(data))
    return load_project(path)


def copy_coco8(inbox: Path) -> Path:
    """coco8's train and val images as two batches of ``inbox``; the coco8 folder."""
    import shutil

    coco8 = shared_data("coco8")
    for split in ("train", "val"):
        shutil.copytree(coco8 / "images" / split, inbox / split)
    return coco8


def coco8_truth(ontology: Mapping[str, str] = STREET_ONTOLOGY) -> dict[str, Boxes]:
    """coco8's true boxes by image stem, in the project classes ``ontology`` maps to."""
    coco8 = shared_data("coco8")
    names = coco_class_names(shared_data("coco128"))
    truth: dict[str, Boxes] = {}
    for split in ("train", "val"):
        stems = [p.stem for p in (coco8 / "images" / split).glob("*.jpg")]
        truth.update(
            truth_in_project_classes(coco8 / "labels" / split, stems, names, dict(ontology))
        )
    return truth


def coco128_truth(coco: Path, items: pd.DataFrame, class_names: list[str]) -> pd.DataFrame:
    """coco128's shipped ``train2017`` labels as a box set of ``items`` (``item_id, path``):
    images without a label file are absent; label files without an image are skipped."""
    return read_yolo_folder(
        coco / "labels" / "train2017",
        known_items=set(items["item_id"]),
        class_names=class_names,
        stem_to_item=stems_to_items(items),
        reviewer="coco",
        names=class_names,
        skip_unmatched=True,
    )
