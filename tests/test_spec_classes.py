"""``classes:`` given as plain names (the name is the description), for text and image specs."""

from pathlib import Path

import pytest

from labelgate.errors import ProjectSpecError
from labelgate.spec import ClassSpec, parse_project

TEXT = {
    "name": "finance",
    "modality": "text",
    "source": {"path": "inbox"},
    "labelers": [{"type": "embedding"}],
}
IMAGE = {
    "name": "street",
    "modality": "image_detection",
    "source": {"path": "images"},
    "labelers": [{"type": "yolo", "path": "m", "ontology": {"car": "vehicle"}}],
}


def parse(data: dict, **overrides: object) -> object:
    return parse_project({**data, **overrides}, base_dir=Path("/p"), origin=Path("/p/s.yaml"))


def test_text_classes_as_plain_names() -> None:
    spec = parse(TEXT, classes=["positive", "negative", "neutral"])
    assert spec.class_names == ["positive", "negative", "neutral"]
    assert spec.classes[1] == ClassSpec(name="negative", description="negative")


def test_plain_names_and_mappings_mix() -> None:
    spec = parse(TEXT, classes=["positive", {"name": "negative", "description": "Bad news."}])
    assert [c.description for c in spec.classes] == ["positive", "Bad news."]


@pytest.mark.parametrize(
    ("data", "classes", "names"),
    [
        (IMAGE, ["vehicle"], ["vehicle"]),
        (
            {**IMAGE, "modality": "image_classification",
             "labelers": [{"type": "yolo_cls", "path": "m"}]},
            ["cat", "dog"],
            ["cat", "dog"],
        ),
    ],
)  # fmt: skip
def test_image_classes_as_plain_names(data: dict, classes: list, names: list) -> None:
    spec = parse(data, classes=classes)
    assert spec.class_names == names
    assert [c.description for c in spec.classes] == names


@pytest.mark.parametrize(
    ("classes", "expected"),
    [
        (["positive", "positive"], r"duplicate class names"),
        (["positive", ""], r"classes\.1\.name: String should have at least 1 character"),
        (["positive", 3], r"classes\.1"),
    ],
)
def test_bad_plain_names_are_refused(classes: list, expected: str) -> None:
    with pytest.raises(ProjectSpecError, match=expected):
        parse(TEXT, classes=classes)
