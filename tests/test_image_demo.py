"""The image demo without ../shared/data: synthetic shapes, a YOLOv8n trained from
``yolov8n.yaml`` offline (one short epoch here), exported to OpenVINO, and the loop closes."""

from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import yaml

from labelgate.images.demo_data import draw_street, write_shapes
from labelgate.spec import load_project
from labelgate_cli.image_demo import run_image_demo
from resources.encoder import TextEncoderResource


def test_synthetic_streets_have_true_boxes_inside_the_image(tmp_path: Path) -> None:
    stems = write_shapes(tmp_path, 5, seed=3, size=96)
    assert stems == write_shapes(tmp_path / "again", 5, seed=3, size=96)
    for stem in stems:
        rows = [
            line.split() for line in (tmp_path / "labels" / f"{stem}.txt").read_text().splitlines()
        ]
        assert rows
        for cls, cx, cy, w, h in rows:
            assert cls in {"0", "1", "2"}
            assert float(cx) - float(w) / 2 >= 0 and float(cx) + float(w) / 2 <= 1
            assert float(cy) - float(h) / 2 >= 0 and float(cy) + float(h) / 2 <= 1
    image, rows = draw_street(np.random.default_rng(0), 64)
    assert image.size == (64, 64) and len(rows) >= 1


@pytest.mark.slow
def test_demo_closes_the_loop_without_shared_data(tmp_path: Path) -> None:
    data = yaml.safe_load(Path("projects/street_objects.yaml").read_text())
    data["source"]["path"] = "demo/inbox"
    data["labelers"][0]["path"] = "demo/detector_openvino_model"
    data["review"] = {"calibration_size": 4, "uncertain_size": 2, "folder": "demo/reviews"}
    data["storage"] = "store"
    data["governance"]["identities"] = str(Path("projects/identities/complaints.yaml").resolve())
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data))
    spec = load_project(tmp_path / "p.yaml")
    with dg.instance_for_test() as instance:
        report = run_image_demo(
            spec,
            instance=instance,
            encoder=TextEncoderResource(kind="hashing"),
            shared=tmp_path / "no_shared_data",
            images=10,
            batches=2,
            rounds=1,
            train_images=16,
            train_epochs=1,
        )
    assert not report.real
    assert (tmp_path / "demo" / "detector_openvino_model").is_dir()
    [(_, _, first), (_, reviews, second)] = report.rounds
    assert first.items == second.items == 10
    assert reviews == 6 and second.human == 6
