"""The image source sensor: a partition per new or changed image folder; quiet until the
source folder exists."""

from pathlib import Path

import dagster as dg
from PIL import Image

from pipelines.project_defs import build_project_definitions
from tests.image_projects import write_detection_project


def test_image_source_sensor_follows_image_folders(tmp_path: Path) -> None:
    spec = write_detection_project(
        tmp_path,
        name="shots",
        classes={"vehicle": "a vehicle"},
        labelers=[{"type": "yolo", "path": "model_openvino_model"}],
    )
    defs = build_project_definitions(spec)
    source = defs.resolve_sensor_def("shots__source_sensor")
    with dg.instance_for_test() as instance:
        missing = source(dg.build_sensor_context(instance=instance))
        assert missing.run_requests == []
        assert "does not exist yet" in missing.skip_reason.skip_message

        for folder, n in (("day1", 2), ("day2", 1)):
            for i in range(n):
                (tmp_path / "inbox" / folder).mkdir(parents=True, exist_ok=True)
                Image.new("RGB", (8, 8), (i, 0, 0)).save(tmp_path / "inbox" / folder / f"{i}.png")
        first = source(dg.build_sensor_context(instance=instance))
        assert sorted(r.partition_key for r in first.run_requests) == ["day1", "day2"]
        (added,) = first.dynamic_partitions_requests
        instance.add_dynamic_partitions(added.partitions_def_name, list(added.partition_keys))

        again = source(dg.build_sensor_context(instance=instance, cursor=first.cursor))
        assert again.run_requests == [] and again.dynamic_partitions_requests == []

        Image.new("RGB", (8, 8), "blue").save(tmp_path / "inbox" / "day2" / "new.png")
        third = source(dg.build_sensor_context(instance=instance, cursor=again.cursor))
        assert [r.partition_key for r in third.run_requests] == ["day2"]
        assert third.dynamic_partitions_requests == []
