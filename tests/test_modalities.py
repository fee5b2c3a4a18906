"""One asset graph for every modality: text, image detection and image classification
projects get their assets, checks, jobs and sensors from the same factories, and a new
modality implementing the protocol yields a working graph without a new asset family."""

import hashlib
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import dagster as dg
import numpy as np
import pandas as pd
import pytest
import yaml

from assets.common import ProjectAssets
from labelgate.candidates import CANDIDATE_SCHEMA, CandidateStats, candidates_frame
from labelgate.governance.export import ExportResult
from labelgate.governance.recording import candidate_rows
from labelgate.ingest import IngestResult
from labelgate.labelers.base import LabelerOutput
from labelgate.ledger import LedgerRow
from labelgate.modalities import modality_for
from labelgate.modalities.base import (
    LabelingInputs,
    Markdown,
    Modality,
    ModalityBase,
    QueueExport,
    Report,
    ReviewImport,
    SourceBatch,
)
from labelgate.modalities.class_labels import ClassLabelSteps, consolidate_classes
from labelgate.project import AUTO_LABELS, CANDIDATE_LABELS, RAW_ITEMS, ProjectData
from labelgate.review.budget import QueueSizes
from labelgate.spec import ProjectSpec, load_project
from pipelines.definitions import build_definitions
from pipelines.project_defs import build_project_definitions
from resources.encoder import TextEncoderResource
from resources.io_manager import TableIOManager
from tests.conftest import write_project

STAGES = [
    "raw_items",
    "candidate_labels",
    "auto_labels",
    "review_queue",
    "reviewed_labels",
    "accepted_labels",
    "label_set",
    "label_export",
]
JOBS = ["label_batch", "publish", "import_reviews", "release", "decide_label_set", "trace_item"]
SENSORS = ["source_sensor", "review_inbox_sensor", "follow_up_sensor"]


def _image_spec(tmp_path: Path, modality: str) -> ProjectSpec:
    labeler = {"image_detection": "yolo", "image_classification": "yolo_cls"}[modality]
    classes = [{"name": n, "description": f"a {n}"} for n in ("cat", "dog")]
    file = tmp_path / f"{modality}.yaml"
    file.write_text(
        yaml.safe_dump(
            {
                "name": modality,
                "modality": modality,
                "source": {"path": "inbox"},
                "classes": classes,
                "labelers": [{"type": labeler, "path": "model_openvino_model"}],
                "storage": "store",
            }
        )
    )
    return load_project(file)


def _graph(defs: dg.Definitions, name: str) -> dict[str, Any]:
    """Stage assets (with the module of their compute function), checks, jobs, sensors."""
    graph = defs.resolve_asset_graph()
    modules = {}
    for key in graph.get_all_asset_keys():
        prefix, asset = key.path
        if prefix == name and asset in STAGES:
            fn = defs.resolve_assets_def(key).op.compute_fn.decorated_fn  # type: ignore[union-attr]
            modules[asset] = fn.__module__
    checks = {
        (k.asset_key.path[-1], k.name)
        for k in graph.asset_check_keys
        if k.asset_key.path[0] == name and k.asset_key.path[-1] in STAGES
    }
    return {
        "modules": modules,
        "checks": checks,
        "jobs": {j.name.removeprefix(f"{name}__") for j in defs.resolve_all_job_defs()}
        & {*JOBS, "relabel", "train_model"},
        "sensors": {
            s.name.removeprefix(f"{name}__")
            for s in defs.sensors or []
            if s.name.startswith(f"{name}__")
        },
    }


def test_text_detection_and_classification_come_from_the_same_factories(
    project: ProjectSpec, tmp_path: Path
) -> None:
    specs = [
        project,
        _image_spec(tmp_path, "image_detection"),
        _image_spec(tmp_path, "image_classification"),
    ]
    defs = build_definitions(specs, encoder=TextEncoderResource(kind="hashing"))
    graphs = [_graph(defs, spec.name) for spec in specs]
    text, detection, classification = graphs
    assert sorted(text["modules"]) == sorted(STAGES)
    for other in (detection, classification):
        assert other["modules"] == text["modules"]  # the same factory module per stage
        assert other["jobs"] == set(JOBS)
        assert other["sensors"] == set(SENSORS)
    assert text["jobs"] - {"relabel", "train_model"} == set(JOBS)  # + its model loop
    assert set(SENSORS) <= text["sensors"]
    # the same checks; the exported file's PII check is for modalities carrying text, drift
    # comes with the text model loop
    model_loop = {("auto_labels", "drift")}
    assert text["checks"] - {("label_export", "no_pii"), *model_loop} == detection["checks"]
    assert detection["checks"] == classification["checks"]
    assert ("label_export", "no_pii") in text["checks"]
    assert {(t, "gx_suite") for t in ("raw_items", "auto_labels", "accepted_labels")} <= (
        detection["checks"]
    )


def test_each_modality_is_chosen_by_the_spec(project: ProjectSpec, tmp_path: Path) -> None:
    chosen = {
        spec.modality: modality_for(spec)
        for spec in (
            project,
            _image_spec(tmp_path, "image_detection"),
            _image_spec(tmp_path, "image_classification"),
        )
    }
    assert {m: (c.item_kind, c.label_kind) for m, c in chosen.items()} == {
        "text": ("text", "class"),
        "image_detection": ("image", "boxes"),
        "image_classification": ("image", "class"),
    }
    assert [chosen[m].release_formats[0] for m in chosen] == ["parquet", "coco", "csv"]
    members = {n for n in dir(Modality) if not n.startswith("_")} | set(Modality.__annotations__)
    for modality in chosen.values():  # every step of the protocol, attributes included
        assert sorted(n for n in members if not hasattr(modality, n)) == []


class LengthLabeling:
    """Labels a row 'long' or 'short' by the length of its text, certain of it."""

    schema = CANDIDATE_SCHEMA

    def __init__(self, class_names: list[str]) -> None:
        self.class_names = class_names
        self.stats = CandidateStats()

    def ledger_rows(self, path: Path, batch: str) -> Iterator[LedgerRow]:
        return candidate_rows(path, batch)

    def stream(self, chunks: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for chunk in chunks:
            long = chunk["text"].str.len().to_numpy() > 40
            probs = np.zeros((len(chunk), len(self.class_names)))
            probs[np.arange(len(chunk)), long.astype(int)] = 1.0
            output = LabelerOutput("length", "1", probs, np.zeros(len(chunk), dtype=bool))
            frame = candidates_frame(chunk["item_id"].tolist(), [output], self.class_names)
            self.stats.add(frame)
            yield frame

    def report(self, elapsed: float) -> Report:
        return {"items": self.stats.items, "coverage": self.stats.coverage()}


class TabularModality(ClassLabelSteps, ModalityBase):
    """A fourth modality for the test: rows of CSV files, their cells joined as the item."""

    name = "tabular"
    item_kind: Literal["text", "image"] = "text"
    label_kind: Literal["class", "boxes"] = "class"
    batch_noun = "table"
    uses_text_encoder = False
    label_columns = ("item_id", "text")
    chunk_size = 50
    release_formats = ("parquet",)

    @cached_property
    def data(self) -> ProjectData:
        return ProjectData(self.spec)

    def batches(self) -> list[SourceBatch]:
        files = sorted(self.spec.source.path.glob("*.csv"))
        return [
            SourceBatch(f.name, f, str(f.stat().st_mtime_ns), f.stat().st_mtime, f) for f in files
        ]

    def ingest(self, batch: SourceBatch) -> IngestResult:
        rows = pd.read_csv(batch.native, dtype=str, keep_default_na=False)
        text = rows.astype(str).agg(" | ".join, axis=1)
        ids = text.map(lambda t: hashlib.sha256(t.encode()).hexdigest()[:16])
        items = pd.DataFrame(
            {
                "item_id": ids,
                "text": text,
                "batch": batch.key,
                "source_file": batch.native.name,
                "source_row": range(len(rows)),
                "source_id": None,
            }
        ).drop_duplicates("item_id")
        quarantine = pd.DataFrame(
            columns=["batch", "source_file", "source_row", "reason", "excerpt"]
        )
        sha = hashlib.sha256(batch.native.read_bytes()).hexdigest()
        return IngestResult(items, quarantine, len(rows), len(items), len(rows) - len(items), sha)

    def ingest_report(self, result: IngestResult, batch: SourceBatch) -> Report:
        return {"source_table": batch.location, "columns": Markdown("joined cells")}

    def labeling(self, inputs: LabelingInputs) -> LengthLabeling:
        return LengthLabeling(self.spec.class_names)

    def consolidate(self, candidates: pd.DataFrame, batch: str) -> pd.DataFrame:
        return consolidate_classes(self.spec, candidates, batch, {"length": True})

    def auto_report(self, auto: pd.DataFrame, candidates: pd.DataFrame) -> Report:
        return {"labels": auto["label"].value_counts().to_dict()}

    def review_queue(
        self, auto: pd.DataFrame, items: pd.DataFrame, reviewed: pd.DataFrame, sizes: QueueSizes
    ) -> pd.DataFrame:
        raise NotImplementedError  # not reached: the test runs the labeling stages

    def export_queue(
        self, queue: pd.DataFrame, auto_labels: pd.DataFrame, raw_items: pd.DataFrame
    ) -> QueueExport:
        raise NotImplementedError

    def import_reviews(self, files: Any, *, reviewer: str | None, run_id: str) -> ReviewImport:
        raise NotImplementedError

    def release(self, fmt: str, out_dir: Path | None, run_id: str) -> tuple[ExportResult, Report]:
        raise NotImplementedError


def test_a_fourth_modality_is_a_module_not_an_asset_family(tmp_path: Path) -> None:
    tables = tmp_path / "tables_in"
    tables.mkdir()
    (tables / "pets.csv").write_text(
        "name,notes\nrex,short\nmia,a very long note about a cat that sleeps all day long\n"
        "rex,short\n",
        encoding="utf-8",
    )
    # No student: a tabular modality would bring its own model loop; this one labels only.
    spec = load_project(write_project(tmp_path, tables, training=None))
    modality: Modality = TabularModality(spec)
    project = ProjectAssets(spec, modality=modality)
    defs = build_project_definitions(spec, project)
    sensor = defs.resolve_sensor_def(f"{spec.name}__source_sensor")
    assert "new or changed table in" in (sensor.description or "")

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(project.partitions.name or "", ["pets.csv"])
        result = dg.materialize(
            list(defs.assets),  # type: ignore[arg-type]
            selection=[project.key(t) for t in (RAW_ITEMS, CANDIDATE_LABELS, AUTO_LABELS)],
            partition_key="pets.csv",
            instance=instance,
            resources={project.io_manager_key: TableIOManager(root=str(project.data.tables.root))},
        )
        assert result.success
        raw = result.asset_materializations_for_node(f"{spec.name}__{RAW_ITEMS}")[0]
        assert raw.metadata["kept"].value == 2 and raw.metadata["duplicates"].value == 1
        assert raw.metadata["source_table"].value == str(tables / "pets.csv")
    auto = project.data.tables.read(AUTO_LABELS, "pets.csv")
    names = spec.class_names
    assert sorted(auto["label"]) == sorted([names[0], names[1]])  # one short, one long row
    assert (auto["confidence"] > 0.5).all()


@pytest.mark.parametrize("modality", ["image_detection", "image_classification"])
def test_image_sensors_and_jobs_name_images(tmp_path: Path, modality: str) -> None:
    spec = _image_spec(tmp_path, modality)
    defs = build_project_definitions(spec)
    sensor = defs.resolve_sensor_def(f"{spec.name}__source_sensor")
    assert "new or changed image folder in" in (sensor.description or "")
    label_batch = defs.resolve_job_def(f"{spec.name}__label_batch")
    stages = {f"{spec.name}__{t}" for t in (RAW_ITEMS, CANDIDATE_LABELS, AUTO_LABELS)}
    checks = {f"{spec.name}__{t}_gx_suite" for t in (RAW_ITEMS, AUTO_LABELS)}
    assert set(label_batch.graph.node_names()) == stages | checks
