"""Project YAML: malformed files fail with a ProjectSpecError that names the field at fault."""

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from labelgate.errors import ProjectSpecError
from labelgate.spec import (
    EmbeddingLabelerSpec,
    HFClassifierLabelerSpec,
    ProjectSpec,
    RulesLabelerSpec,
    load_project,
    parse_project,
)
from tests.projects import project_data

REPO = Path(__file__).resolve().parent.parent

VALID: dict[str, Any] = project_data(
    name="tickets",
    modality="text",
    classes={
        "billing": "Questions about invoices and charges.",
        "outage": "The service is down or unreachable.",
    },
    labelers=[{"type": "rules", "rules": {"billing": [r"\binvoice\b"], "outage": ["down"]}}],
)

Mutation = Callable[[dict[str, Any]], None]


def valid() -> dict[str, Any]:
    return copy.deepcopy(VALID)


def write_yaml(folder: Path, data: object, name: str = "project.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def parse(data: object, folder: Path) -> ProjectSpec:
    return parse_project(data, base_dir=folder, origin=folder / "project.yaml")


def spec_error(data: object, folder: Path) -> str:
    with pytest.raises(ProjectSpecError) as info:
        parse(data, folder)
    return str(info.value)


# --- the file itself ---------------------------------------------------------------------


def test_valid_minimal_project_parses_with_defaults(tmp_path: Path) -> None:
    spec = parse(valid(), tmp_path)
    assert spec.class_names == ["billing", "outage"]
    assert isinstance(spec.labelers[0], RulesLabelerSpec)
    assert spec.labelers[0].name == "rules"
    assert spec.source.text_column == "text"
    assert spec.gate.target_accuracy == 0.95
    assert spec.project_dir == tmp_path.resolve() / "var" / "tickets"


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ProjectSpecError, match=re.escape(f"{missing} does not exist")):
        load_project(missing)


def test_a_folder_is_not_a_project_file(tmp_path: Path) -> None:
    with pytest.raises(ProjectSpecError, match="does not exist"):
        load_project(tmp_path)


def test_invalid_yaml_syntax(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: tickets\nclasses: [unclosed\n", encoding="utf-8")
    with pytest.raises(ProjectSpecError, match=r"broken\.yaml is not valid YAML"):
        load_project(path)


def test_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ProjectSpecError, match="not valid YAML"):
        load_project(path)


@pytest.mark.parametrize("content", ["- a\n- b\n", "just a string\n", ""])
def test_top_level_must_be_a_mapping(tmp_path: Path, content: str) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ProjectSpecError, match="must hold a mapping at the top level"):
        load_project(path)


def test_error_names_the_file(tmp_path: Path) -> None:
    data = valid()
    del data["source"]
    path = write_yaml(tmp_path, data, "my_project.yaml")
    with pytest.raises(ProjectSpecError, match=r"project file .*my_project\.yaml is invalid"):
        load_project(path)


# --- one field at fault ------------------------------------------------------------------


def _drop_source(d: dict[str, Any]) -> None:
    del d["source"]


def _drop_labelers(d: dict[str, Any]) -> None:
    del d["labelers"]


def _set(path: str, value: object) -> Mutation:
    """A mutation setting the dotted ``path`` (list indices as integers) to ``value``."""

    def mutate(d: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = d
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        node[int(last) if last.isdigit() else last] = value

    return mutate


def _append(path: str, value: object) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        d[path].append(value)

    return mutate


BAD_FIELDS: list[tuple[str, Mutation, str]] = [
    ("missing source", _drop_source, r"  source: Field required"),
    ("missing labelers", _drop_labelers, r"  labelers: Field required"),
    ("wrong type", _set("source.max_chars", "lots"), r"  source\.max_chars: .*valid integer"),
    ("non-positive", _set("source.max_chars", 0), r"  source\.max_chars: .*greater than 0"),
    ("classes not a list", _set("classes", "billing"), r"  classes: .*valid list"),
    ("wrong modality", _set("modality", "image"), r"  modality: Input should be 'text'"),
    ("unknown top-level", _set("colour", "blue"), r"  colour: Extra inputs are not permitted"),
    ("unknown nested", _set("source.sheet", 1), r"  source\.sheet: Extra inputs are not"),
    ("unknown in labeler", _set("labelers.0.weight", 2), r"  labelers\.0\.rules\.weight: Extra"),
    ("bad project name", _set("name", "My Project"), r"  name: String should match pattern"),
    ("name starts digit", _set("name", "1tickets"), r"  name: String should match pattern"),
    ("one class", _set("classes", VALID["classes"][:1]), r"  classes: .*at least 2 items"),
    ("class w/o description", _set("classes.1", {"name": "x"}), r"classes\.1\.description"),
    (
        "duplicate class",
        _append("classes", {"name": "billing", "description": "again"}),
        r"classes: duplicate class names in \['billing', 'outage', 'billing'\]",
    ),
    (
        "duplicate labeler",
        _append("labelers", {"type": "rules", "rules": {}}),
        r"labelers: duplicate labeler names in \['rules', 'rules'\]",
    ),
    (
        "unknown labeler type",
        _append("labelers", {"type": "sam"}),
        r"  labelers\.1: Input tag 'sam' .*'rules', 'embedding', 'hf_classifier'",
    ),
    ("labeler w/o type", _append("labelers", {"name": "x"}), r"  labelers\.1: .*'type'"),
    (
        "rules for unknown class",
        _set("labelers.0.rules", {"billing": ["x"], "refund": ["y"]}),
        r"labelers\.rules\.rules: unknown classes \['refund'\]",
    ),
    (
        "bad regex",
        _set("labelers.0.rules", {"billing": ["(unclosed"]}),
        r"  labelers\.0\.rules\.rules: .*class 'billing': bad regex '\(unclosed'",
    ),
    (
        "label_map to unknown class",
        _append(
            "labelers",
            {"type": "hf_classifier", "path": "m", "label_map": {"NEG": "billing", "POS": "x"}},
        ),
        r"labelers\.hf_classifier\.label_map: maps to unknown classes \['x'\]",
    ),
    (
        "bad embedding temperature",
        _append("labelers", {"type": "embedding", "temperature": 0}),
        r"  labelers\.1\.embedding\.temperature: .*greater than 0",
    ),
    (
        "target above 1",
        _set("gate.target_accuracy", 1.5),
        r"  gate\.target_accuracy: .*less than 1",
    ),
    ("target of 1", _set("gate.target_accuracy", 1.0), r"  gate\.target_accuracy: .*less than 1"),
    ("confidence 0", _set("gate.confidence", 0), r"  gate\.confidence: .*greater than 0"),
    ("planning > 1", _set("gate.planning_accuracy", 1.2), r"  gate\.planning_accuracy: "),
    (
        "planning equal target",
        _set("gate", {"target_accuracy": 0.9, "planning_accuracy": 0.9}),
        r"  gate: .*planning_accuracy \(0\.9\) must be above target_accuracy \(0\.9\)",
    ),
    (
        "planning below target",
        _set("gate", {"target_accuracy": 0.9, "planning_accuracy": 0.8}),
        r"  gate: .*planning_accuracy \(0\.8\) must be above target_accuracy",
    ),
    ("negative review size", _set("review.calibration_size", -1), r"review\.calibration_size"),
]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [pytest.param(m, e, id=case) for case, m, e in BAD_FIELDS],
)
def test_bad_field_is_named(tmp_path: Path, mutate: Mutation, expected: str) -> None:
    data = valid()
    mutate(data)
    message = spec_error(data, tmp_path)
    assert re.search(expected, message), message


def test_bad_field_is_named_through_load_project(tmp_path: Path) -> None:
    data = valid()
    data["source"]["max_chars"] = "lots"
    with pytest.raises(ProjectSpecError, match=r"source\.max_chars"):
        load_project(write_yaml(tmp_path, data))


def test_every_bad_field_is_reported_at_once(tmp_path: Path) -> None:
    data = valid()
    data["name"] = "Bad Name"
    data["gate"] = {"confidence": 2}
    message = spec_error(data, tmp_path)
    assert "  name: " in message
    assert "  gate.confidence: " in message


def test_planning_accuracy_above_target_is_accepted(tmp_path: Path) -> None:
    data = valid()
    data["gate"] = {"target_accuracy": 0.9, "planning_accuracy": 0.97}
    assert parse(data, tmp_path).gate.planning_accuracy == 0.97


def test_hf_label_map_onto_known_classes_is_accepted(tmp_path: Path) -> None:
    data = valid()
    data["labelers"].append(
        {"type": "hf_classifier", "path": "m", "label_map": {"NEG": "billing", "POS": "outage"}}
    )
    labeler = parse(data, tmp_path).labelers[1]
    assert isinstance(labeler, HFClassifierLabelerSpec)
    assert labeler.label_map == {"NEG": "billing", "POS": "outage"}


def test_spec_is_frozen(tmp_path: Path) -> None:
    spec = parse(valid(), tmp_path)
    with pytest.raises(ValueError):
        spec.name = "other"  # type: ignore[misc]


# --- paths ---------------------------------------------------------------------------------


def test_relative_paths_resolve_against_the_yaml_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_dir = tmp_path / "projects" / "tickets"
    project_dir.mkdir(parents=True)
    data = valid()
    data["source"]["path"] = "../data/inbox"
    data["storage"] = "store"
    data["review"] = {"folder": "reviews"}
    data["labelers"] += [
        {"type": "embedding", "model_path": "models/minilm"},
        {"type": "hf_classifier", "path": "models/clf"},
    ]
    path = write_yaml(project_dir, data)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the working directory must not matter

    spec = load_project(Path("..") / "projects" / "tickets" / "project.yaml")

    root = project_dir.resolve()
    assert spec.source.path == (tmp_path / "projects" / "data" / "inbox").resolve()
    assert spec.storage == root / "store"
    assert spec.review.folder == root / "reviews"
    embedding, hf = spec.labelers[1], spec.labelers[2]
    assert isinstance(embedding, EmbeddingLabelerSpec)
    assert isinstance(hf, HFClassifierLabelerSpec)
    assert embedding.model_path == root / "models" / "minilm"
    assert hf.path == root / "models" / "clf"
    assert spec.spec_path == path.resolve()


def test_absolute_paths_are_kept(tmp_path: Path) -> None:
    data = valid()
    absolute = tmp_path / "somewhere" / "inbox"
    data["source"]["path"] = str(absolute)
    data["storage"] = str(tmp_path / "store")
    spec = load_project(write_yaml(tmp_path, data))
    assert spec.source.path == absolute
    assert spec.storage == tmp_path / "store"


def test_embedding_without_model_path_keeps_none(tmp_path: Path) -> None:
    data = valid()
    data["labelers"].append({"type": "embedding"})
    labeler = parse(data, tmp_path).labelers[1]
    assert isinstance(labeler, EmbeddingLabelerSpec)
    assert labeler.model_path is None  # the shipped MiniLM is used


# --- the shipped project -------------------------------------------------------------------


def test_shipped_complaints_project_loads() -> None:
    path = REPO / "projects" / "complaints.yaml"
    spec = load_project(path)
    assert spec.name == "complaints"
    assert spec.class_names == [
        "card_fraud",
        "payment_dispute",
        "account_access",
        "loan_inquiry",
        "fees_complaint",
        "address_change",
    ]
    assert [type(labeler) for labeler in spec.labelers] == [
        RulesLabelerSpec,
        EmbeddingLabelerSpec,
    ]
    rules = spec.labelers[0]
    assert isinstance(rules, RulesLabelerSpec)
    assert set(rules.rules) == set(spec.class_names)
    assert spec.source.id_column == "message_id"
    assert spec.source.path == (REPO / "var" / "demo" / "complaints" / "inbox").resolve()
    assert spec.storage == (REPO / "var" / "store").resolve()
    assert spec.spec_path == path.resolve()
