"""Image projects are governed like text ones: a signed decision through the decide job,
the release job (COCO JSON of the approved box set, behind its blocking check) and the
trace job of an image, on the real COCO detector and coco8 (slow)."""

import json
from pathlib import Path

import dagster as dg
import pytest
import yaml

from labelgate.governance.approval import sign_decision
from labelgate.governance.verify import verify_project
from labelgate.images.demo_review import simulate_box_reviews
from labelgate.images.project import ImageProjectData
from labelgate.label_sets import LabelSetStore
from labelgate.spec import ProjectSpec, load_project
from labelgate_cli.governance_runs import run_decision, run_trace
from labelgate_cli.runner import import_reviews, project_definitions, run_project
from resources.encoder import TextEncoderResource
from tests.signing_keys import demo_key
from tests.test_image_pipeline import coco8_project  # noqa: F401 - the fixture
from tests.test_label_sets import IDENTITIES

ENCODER = TextEncoderResource(kind="hashing")


@pytest.mark.slow
def test_image_project_decide_release_and_trace(
    coco8_project: tuple[ProjectSpec, dict],  # noqa: F811
    tmp_path: Path,
) -> None:
    spec, truth = coco8_project
    data = yaml.safe_load(spec.spec_path.read_text())  # type: ignore[union-attr]
    data["governance"] = {"identities": str(IDENTITIES)}
    spec.spec_path.write_text(yaml.safe_dump(data))  # type: ignore[union-attr]
    spec = load_project(spec.spec_path)  # type: ignore[arg-type]
    images = ImageProjectData(spec)
    with dg.instance_for_test() as instance:
        run_project(spec, instance=instance, encoder=ENCODER)
        tasks = images.queue_dir / "label_studio_tasks.json"
        answers = tmp_path / "answers.json"
        simulate_box_reviews(tasks, images.image_items(), truth, answers)
        import_reviews(spec, [str(answers)], instance=instance, encoder=ENCODER)
        run_project(spec, instance=instance, encoder=ENCODER)
        label_set = LabelSetStore(spec).latest(status=None)
        assert label_set is not None and label_set.status == "draft"
        defs = project_definitions(spec, ENCODER)
        release = defs.resolve_job_def(f"{spec.name}__release")
        refused = release.execute_in_process(instance=instance, raise_on_error=False)
        assert not refused.success  # nothing approved yet

        unsigned = run_decision(
            spec, None, as_name="dana", version=label_set.version, instance=instance
        )
        assert not unsigned.success
        signed = sign_decision(spec, label_set.version, actor="dana", key=demo_key("dana"))
        assert run_decision(spec, signed, instance=instance).success
        assert LabelSetStore(spec).get(label_set.version).status == "approved"

        released = release.execute_in_process(instance=instance)
        assert released.success
        checks = released.get_asset_check_evaluations()
        assert checks and all(c.passed for c in checks)
        event = instance.get_latest_materialization_event(dg.AssetKey([spec.name, "label_export"]))
        assert event is not None and event.asset_materialization is not None
        path = Path(str(event.asset_materialization.metadata["path"].value))
        coco = json.loads(path.read_text())
        boxes = sum(len(b) for b in label_set.labels()["boxes"])
        assert len(coco["annotations"]) == boxes and len(coco["images"]) == len(label_set.labels())

        item_id = str(label_set.labels()["item_id"].iloc[0])
        traced = run_trace(spec, item_id, instance=instance)
        assert traced.success
        (output,) = [e for e in traced.all_node_events if e.is_successful_output]
        metadata = output.step_output_data.metadata  # type: ignore[union-attr]
        report = metadata["trace"].value
        assert metadata["ledger_rows"].value > 0 and "## History" in report
        assert f"| v{label_set.version} | approved | " in report and "box(es)" in report
    assert verify_project(spec).ok
