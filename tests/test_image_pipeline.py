"""The image loop through Dagster: ingest (bad files quarantined), YOLO labels, review queue
as Label Studio tasks, simulated reviews imported (Label Studio export and YOLO folder),
gate and metrics. Real COCO detector on coco8 (slow: about 20 s)."""

import json
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from PIL import Image

from labelgate.images.demo_review import simulate_box_reviews
from labelgate.images.project import ImageProjectData
from labelgate.project import ACCEPTED_LABELS, QUARANTINE, RAW_ITEMS
from labelgate.spec import ProjectSpec, load_project
from labelgate_cli.runner import import_reviews, publish, run_project
from resources.encoder import TextEncoderResource
from tests.conftest import shared_data
from tests.image_projects import (
    STREET_ONTOLOGY,
    coco8_truth,
    copy_coco8,
    write_detection_project,
)

ENCODER = TextEncoderResource(kind="hashing")


def test_workspace_loads_the_image_demo_project_without_its_folder() -> None:
    from pipelines.definitions import defs

    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {f"street_objects/{a}" for a in ("raw_items", "auto_labels", "accepted_labels")} <= keys
    for job in ("label_batch", "publish", "import_reviews"):
        assert defs.resolve_job_def(f"street_objects__{job}") is not None
    spec = load_project("projects/street_objects.yaml")
    assert spec.modality == "image_detection"


@pytest.fixture
def coco8_project(tmp_path: Path) -> tuple[ProjectSpec, dict]:
    model = shared_data("yolov8n_int8_openvino_model")
    coco8 = copy_coco8(tmp_path / "inbox")
    bad = tmp_path / "inbox" / "junk"  # a batch of nothing but bad files
    bad.mkdir()
    (bad / "zero.jpg").write_bytes(b"")
    (bad / "notes.png").write_text("not an image")
    whole = next((coco8 / "images" / "val").glob("*.jpg")).read_bytes()
    (bad / "cut.jpg").write_bytes(whole[: len(whole) // 3])
    Image.new("RGB", (700, 700)).save(bad / "huge.png")  # over the pixel limit below
    spec = write_detection_project(
        tmp_path,
        name="streets",
        source={"path": "inbox", "max_pixels": 400_000},
        classes={"person": "a person", "vehicle": "a road vehicle"},
        labelers=[{"type": "yolo", "path": str(model), "ontology": STREET_ONTOLOGY}],
        review={"calibration_size": 4, "uncertain_size": 2, "folder": "reviews"},
    )
    return spec, coco8_truth()


@pytest.mark.slow
def test_image_loop_closes(coco8_project: tuple[ProjectSpec, dict], tmp_path: Path) -> None:
    spec, truth = coco8_project
    data = ImageProjectData(spec)
    with dg.instance_for_test() as instance:
        summary = run_project(spec, instance=instance, encoder=ENCODER)
        assert summary.batches == ["junk", "train", "val"]
        items = data.image_items()
        assert len(items) == 8
        quarantine = data.tables.read(QUARANTINE, "junk")
        assert len(data.tables.read(RAW_ITEMS, "junk")) == 0
        reasons = dict(zip(quarantine["excerpt"], quarantine["reason"], strict=True))
        assert set(reasons) == {"zero.jpg", "notes.png", "cut.jpg", "huge.png"}
        assert "decompression-bomb guard" in reasons["huge.png"]

        auto = instance.get_latest_materialization_event(dg.AssetKey(["streets", "auto_labels"]))
        assert auto is not None
        plots = auto.asset_materialization.metadata
        for name in ("samples", "confidence_histogram"):
            assert "data:image/png;base64," in plots[name].value

        tasks_path = data.queue_dir / "label_studio_tasks.json"
        tasks = json.loads(tasks_path.read_text())
        assert len(tasks) == 6
        result = [r for t in tasks for p in t["predictions"] for r in p["result"]]
        assert result and all(r["type"] == "rectanglelabels" for r in result)
        assert all(0 <= r["value"]["x"] <= 100 and r["value"]["width"] > 0 for r in result)
        assert (data.queue_dir / "label_studio_tasks.label_config.xml").is_file()

        answers = tmp_path / "answers.json"
        assert simulate_box_reviews(tasks_path, items, truth, answers) == 6
        import_reviews(spec, [str(answers)], instance=instance, encoder=ENCODER)
        reviewed = data.reviewed()
        assert len(reviewed) == 6
        assert (reviewed["purpose"] == "calibration").sum() == 4

        # Two more images answered as a YOLO-txt folder (project class indices).
        rest = items[~items["item_id"].isin(reviewed["item_id"])]
        folder = tmp_path / "yolo_answers"
        folder.mkdir()
        for row in rest.itertuples():
            boxes = truth[Path(row.path).stem].to_records()
            lines = [
                f"{['person', 'vehicle'].index(b['label'])} {(b['x1'] + b['x2']) / 2} "
                f"{(b['y1'] + b['y2']) / 2} {b['x2'] - b['x1']} {b['y2'] - b['y1']}"
                for b in boxes
            ]
            (folder / f"{Path(row.path).stem}.txt").write_text("\n".join(lines))
        import_reviews(
            spec, [str(folder)], instance=instance, encoder=ENCODER, reviewer="annotator"
        )
        assert len(data.reviewed()) == 8

        run = publish(spec, instance=instance, encoder=ENCODER)
        accepted = data.tables.read(ACCEPTED_LABELS)
        assert (accepted["source"] == "human").sum() == 8
        record = instance.get_latest_materialization_event(
            dg.AssetKey(["streets", ACCEPTED_LABELS])
        )
        assert record is not None and record.run_id == run
        metadata = record.asset_materialization.metadata
        assert 0.0 < metadata["map50"].value <= 1.0
        assert 0.5 < metadata["mean_iou"].value <= 1.0
        for table in ("raw_items", "auto_labels", "reviewed_labels", ACCEPTED_LABELS):
            check = instance.get_latest_asset_check_evaluation_record(
                dg.AssetCheckKey(dg.AssetKey(["streets", table]), "gx_suite")
            )
            assert check is not None and check.status.value == "SUCCEEDED", table
        assert isinstance(accepted, pd.DataFrame)
