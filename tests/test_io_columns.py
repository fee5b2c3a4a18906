"""Project-wide assets read every batch's auto_labels; they must not load the (N, K) probs,
which would make a publish run's memory grow with the whole project (issue 14)."""

from pathlib import Path

import dagster as dg
import pandas as pd

from assets.common import AUTO_LABELS_NO_PROBS, ProjectAssets
from labelgate.project import ACCEPTED_LABELS, AUTO_LABELS, REVIEW_QUEUE
from labelgate.spec import ProjectSpec
from labelgate.storage import TableStore
from pipelines.definitions import build_definitions
from resources.encoder import TextEncoderResource
from resources.io_manager import TableIOManager


def test_io_manager_reads_only_the_columns_an_input_names(tmp_path: Path) -> None:
    frame = pd.DataFrame({"item_id": ["a", "b"], "label": ["x", "y"], "probs": [[0.1], [0.9]]})
    TableStore(tmp_path).write(AUTO_LABELS, frame)
    manager = TableIOManager(root=str(tmp_path))
    context = dg.build_input_context(
        asset_key=dg.AssetKey(["bank", AUTO_LABELS]),
        definition_metadata={"columns": ["item_id", "label"]},
    )
    assert list(manager.load_input(context).columns) == ["item_id", "label"]
    whole = dg.build_input_context(asset_key=dg.AssetKey(["bank", AUTO_LABELS]))
    assert "probs" in manager.load_input(whole).columns


def test_publish_assets_read_auto_labels_without_probs(
    project: ProjectSpec, hashing_encoder: TextEncoderResource
) -> None:
    assert "probs" not in AUTO_LABELS_NO_PROBS["columns"]
    defs = build_definitions([project], encoder=hashing_encoder)
    names = ProjectAssets(project)
    for asset in (ACCEPTED_LABELS, REVIEW_QUEUE, "label_set"):
        definition = defs.resolve_assets_def(names.key(asset))
        metadata = definition.op.input_def_named("auto_labels").metadata
        assert metadata.get("columns") == AUTO_LABELS_NO_PROBS["columns"], asset
