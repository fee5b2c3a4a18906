"""The hostile-input suite: hundreds of hostile rows and files (tests/hostile.py) through the
real ``labelgate run`` on temporary projects, text and image.

Asserted for every file and over the run: ``seen == kept + duplicates + quarantined``, with
``seen`` equal to what the generator wrote; the run exits 0 and publishes; the control
file's items are labeled; every quarantined row has a reason (no memory address, no
control character) and a ledger row.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from labelgate.ids import text_item_id
from labelgate.images import labelers
from labelgate.images.ingest import discover_image_batches
from labelgate.ingest import WHOLE_FILE_ROW, discover_batches
from labelgate.ledger import Ledger
from labelgate.ledger.events import ITEM_INGESTED, ITEM_QUARANTINED
from labelgate.project import (
    ACCEPTED_LABELS,
    AUTO_LABELS,
    QUARANTINE,
    RAW_ITEMS,
    REVIEW_QUEUE,
    ProjectData,
)
from labelgate.spec import ProjectSpec, load_project
from labelgate.text import normalize_text
from labelgate_cli.app import app
from tests.conftest import write_project
from tests.hostile import HostileCorpus, write_image_corpus, write_text_corpus
from tests.test_image_labelers import FakeClassifier

HASHING = ["--encoder", "hashing"]
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class HostileRun:
    corpus: HostileCorpus
    spec: ProjectSpec
    output: str
    exit_code: int
    keys: dict[str, str]  # file or folder name -> batch key
    metadata: dict[str, dict[str, Any]]  # batch key -> raw_items materialization metadata


def _raw_items_metadata(spec: ProjectSpec, keys: list[str]) -> dict[str, dict[str, Any]]:
    instance = dg.DagsterInstance.get()
    asset_key = dg.AssetKey([spec.name, RAW_ITEMS])
    found = {}
    for key in keys:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[key]), limit=1
        ).records
        materialization = records[0].asset_materialization if records else None
        metadata = materialization.metadata if materialization else {}  # {}: never ingested
        found[key] = {name: value.value for name, value in metadata.items()}
    return found


def _run(project_file: Path, corpus: HostileCorpus, keys: dict[str, str]) -> HostileRun:
    result = CliRunner().invoke(app, ["run", str(project_file), *HASHING])
    spec = load_project(project_file)
    metadata = _raw_items_metadata(spec, sorted(set(keys.values())))
    return HostileRun(corpus, spec, result.output, result.exit_code, keys, metadata)


@pytest.fixture(scope="module")
def dagster_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("dagster_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(home))
        yield home


@pytest.fixture(scope="module")
def text_run(tmp_path_factory: pytest.TempPathFactory, dagster_home: Path) -> HostileRun:
    folder = tmp_path_factory.mktemp("hostile_text")
    corpus = write_text_corpus(folder / "inbox", folder / "outside.csv")
    project_file = write_project(folder, corpus.folder)
    spec = load_project(project_file)
    keys = {b.path.name: b.key for b in discover_batches(spec.source)}
    return _run(project_file, corpus, keys)


@pytest.fixture(scope="module")
def image_run(tmp_path_factory: pytest.TempPathFactory, dagster_home: Path) -> Iterator[HostileRun]:
    folder = tmp_path_factory.mktemp("hostile_images")
    corpus = write_image_corpus(folder / "inbox", folder / "outside.png")
    model = folder / "cls.pt"
    model.write_bytes(b"fake weights")
    project_file = folder / "p.yaml"
    project_file.write_text(
        yaml.safe_dump(
            {
                "name": "hostile_pets",
                "modality": "image_classification",
                "source": {"path": "inbox", "max_pixels": 100_000},
                "classes": [
                    {"name": "cat", "description": "a cat"},
                    {"name": "dog", "description": "a dog"},
                ],
                "labelers": [
                    {
                        "type": "yolo_cls",
                        "path": str(model),
                        "ontology": {"cat": "cat", "dog": "dog"},
                    }
                ],
                "review": {"calibration_size": 6, "uncertain_size": 2, "folder": "reviews"},
                "storage": "store",
            }
        ),
        encoding="utf-8",
    )
    spec = load_project(project_file)
    keys = {b.folder.name: b.key for b in discover_image_batches(spec.source.path)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(labelers._MODELS, (str(model.resolve()), "classify"), FakeClassifier())
        yield _run(project_file, corpus, keys)


@pytest.fixture(params=["text", "images"])
def hostile_run(request: pytest.FixtureRequest) -> HostileRun:
    return request.getfixturevalue(f"{'text' if request.param == 'text' else 'image'}_run")


def test_the_generator_writes_over_500_hostile_rows_and_files(
    text_run: HostileRun, image_run: HostileRun
) -> None:
    assert text_run.corpus.hostile + image_run.corpus.hostile >= 500
    formats = {Path(f.name).suffix for f in text_run.corpus.files}
    assert {".csv", ".jsonl", ".parquet"} <= formats


def test_the_run_exits_0_and_publishes(hostile_run: HostileRun) -> None:
    assert hostile_run.exit_code == 0, hostile_run.output
    assert "Traceback" not in hostile_run.output
    tables = ProjectData(hostile_run.spec).tables
    assert tables.exists(ACCEPTED_LABELS) and tables.exists(REVIEW_QUEUE)  # publish ran


def test_every_file_conserves_its_rows(hostile_run: HostileRun) -> None:
    tables = ProjectData(hostile_run.spec).tables
    for file in hostile_run.corpus.files:
        key = hostile_run.keys[file.name]
        meta = hostile_run.metadata[key]
        assert meta, f"{file.name} (batch {key}) was never ingested:\n{hostile_run.output}"
        counts = (meta["seen"], meta["kept"], meta["duplicates"], meta["quarantined"])
        assert counts[0] == counts[1] + counts[2] + counts[3], (file.name, counts)
        if file.seen is not None:
            assert meta["seen"] == file.seen, (file.name, counts)
        assert tables.row_count(RAW_ITEMS, key) == meta["kept"], file.name
        assert tables.row_count(QUARANTINE, key) == meta["quarantined"], file.name
        if file.whole_file:
            assert (meta["quarantined"], meta["unreadable_files"]) == (1, 1), file.name
            row = tables.read(QUARANTINE, key).iloc[0]
            assert row["source_row"] == WHOLE_FILE_ROW
            assert row["reason"].startswith("file not ingested: "), row["reason"]


def test_the_run_conserves_rows_and_ledgers_every_one(hostile_run: HostileRun) -> None:
    assert all(hostile_run.metadata.values()), hostile_run.output  # every batch ingested
    totals = pd.DataFrame(hostile_run.metadata.values())[
        ["seen", "kept", "duplicates", "quarantined"]
    ].sum()
    assert totals["seen"] == totals["kept"] + totals["duplicates"] + totals["quarantined"]
    assert totals["quarantined"] > 0 and totals["kept"] > 0
    if hostile_run.spec.modality != "text":
        return  # image ingest does not write item rows to the ledger
    ledger = Ledger.for_project(hostile_run.spec)
    assert ledger.count(ITEM_QUARANTINED) == totals["quarantined"]
    assert ledger.count(ITEM_INGESTED) == totals["kept"]
    assert ledger.verify().ok


def test_every_quarantined_row_has_a_clean_reason(hostile_run: HostileRun) -> None:
    quarantine = ProjectData(hostile_run.spec).tables.read_all(QUARANTINE)
    assert len(quarantine) > 0
    for reason in quarantine["reason"]:
        assert isinstance(reason, str) and reason.strip(), quarantine
        assert not _ADDRESS.search(reason), reason  # no <_io.BytesIO object at 0x...>
        assert not _CONTROL.search(reason), reason


def test_the_control_file_is_labeled(hostile_run: HostileRun) -> None:
    data = ProjectData(hostile_run.spec)
    labeled = set(data.tables.read_all(AUTO_LABELS)["item_id"])
    if hostile_run.spec.modality == "text":
        control = {text_item_id(normalize_text(t)) for t in hostile_run.corpus.control_texts}
        assert control <= labeled
    else:
        items = data.tables.read_all(RAW_ITEMS)
        paths = set(items.loc[items["item_id"].isin(labeled), "path"])
        assert {str(Path(p).resolve()) for p in hostile_run.corpus.control_texts} <= paths


def _reasons(run: HostileRun, name: str) -> list[str]:
    return ProjectData(run.spec).tables.read(QUARANTINE, run.keys[name])["reason"].tolist()


def test_named_hostile_text_cases_are_quarantined_for_their_reason(text_run: HostileRun) -> None:
    # issue 12 item 3: lone surrogates; item 11: malformed quoting, invisible texts
    assert any("lone surrogate" in r for r in _reasons(text_run, "rows.jsonl"))
    csv_reasons = _reasons(text_run, "rows.csv")
    assert sum("malformed CSV quoting" in r for r in csv_reasons) == 3
    assert sum("no visible characters" in r for r in csv_reasons) >= 10
    # item 10: the boundary of the source folder
    assert "outside the source folder" in _reasons(text_run, "outside_link.csv")[0]
    assert "hidden file" in _reasons(text_run, ".hidden.csv")[0]
    # item 3: two names, one batch key
    assert "maps to batch key 'clash_file.csv'" in _reasons(text_run, "clash file.csv")[0]
    # item 11: a byte-order mark does not cost the first JSONL row
    items = ProjectData(text_run.spec).tables.read(RAW_ITEMS, text_run.keys["rows.jsonl"])
    assert "a row behind a byte-order mark, kept" in set(items["text"])


def test_batches_without_new_items_are_no_ops(text_run: HostileRun) -> None:
    # issue 12 item 2: re-delivered, header-only, empty and all-quarantined files
    for name in ["redelivered.csv", "header_only.csv", "zero.jsonl", "all_bad.csv"]:
        key = text_run.keys[name]
        assert text_run.metadata[key]["kept"] == 0, name
        assert ProjectData(text_run.spec).tables.row_count(AUTO_LABELS, key) == 0, name


def test_named_hostile_image_cases_are_quarantined_for_their_reason(image_run: HostileRun) -> None:
    reasons = _reasons(image_run, "mixed")
    assert sum("hidden file" in r for r in reasons) == 2  # .hidden.png, .thumbs/t.png
    assert sum("outside the source folder" in r for r in reasons) == 1
    assert sum("broken symbolic link" in r for r in reasons) == 1
