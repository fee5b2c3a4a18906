"""A data steward governs from the Dagster UI: nothing personal in Dagster's storage, signed
decisions through the decide job (refusals as one-line failures), the label set's status and
the gate's evidence on the assets, an item's lineage as a job, and where the demo says to
look. The browser test (``test_browser.py``) drives the same instance through Chromium."""

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from labelgate.governance.approval import sign_decision
from labelgate.governance.erasure import erase_item
from labelgate.governance.signing import generate_key, sign
from labelgate.label_sets import LabelSetStore
from labelgate.ledger import Ledger
from labelgate.ledger.events import APPROVAL_REFUSED
from labelgate.pii import find_pii
from labelgate.project import ProjectData
from labelgate_cli.governance_demo import refusal_reason
from labelgate_cli.governance_runs import run_decision, run_trace
from tests.browser import (
    chromium_page,
    chromium_path,
    dagster_webserver,
    set_launchpad_config,
)
from tests.signing_keys import demo_key
from tests.steward_instance import StewardInstance, steward_instance
from tests.test_pii import STRUCTURED_SLOTS, surviving


@pytest.fixture(scope="module")
def steward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StewardInstance]:
    with steward_instance(tmp_path_factory.mktemp("steward")) as instance:
        yield instance


def dagster_storage_text(steward: StewardInstance) -> str:
    """Everything Dagster keeps: every event of every run (metadata, logs, check results,
    failures), run tags and config, and the raw bytes of every file under DAGSTER_HOME (the
    SQLite storages, captured compute logs)."""
    parts = []
    instance = steward.instance
    for run in instance.get_runs():
        parts.append(dg.serialize_value(run.tags))
        parts.append(str(run.run_config))
        parts.extend(dg.serialize_value(entry) for entry in instance.all_logs(run.run_id))
    for path in steward.home.rglob("*"):
        if path.is_file():
            parts.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(parts)


def test_dagster_storage_holds_no_pii(steward: StewardInstance) -> None:
    assert all(len(steward.pii[slot]) > 20 for slot in STRUCTURED_SLOTS)  # the corpus has PII
    text = dagster_storage_text(steward)
    items = ProjectData(steward.spec).items(["item_id", "text"])
    assert items["item_id"].iloc[0] in text  # the scan does read what the assets reported
    left = surviving(steward.pii, iter([text]))
    for slot, values in left.items():
        assert values == [], f"{slot} found in Dagster's storage: {values[:3]}"
    with_pii = [t for t in items["text"] if find_pii(t)][:200]
    assert with_pii and not [t for t in with_pii if t.lower() in text.lower()]


def test_refused_decisions_fail_with_one_line_and_metadata(
    steward: StewardInstance, tmp_path: Path
) -> None:
    spec, instance = steward.spec, steward.instance
    version = LabelSetStore(spec).latest(status="approved").version  # type: ignore[union-attr]
    refused_rows = len(Ledger.for_project(spec).events(event=APPROVAL_REFUSED))

    def failure(result: dg.ExecuteInProcessResult) -> dg.Failure:
        assert not result.success
        (event,) = result.get_step_failure_events()
        data = event.step_failure_data
        assert data.error is not None and data.error.cause is None  # no chained traceback
        assert data.user_failure_data is not None
        description = data.user_failure_data.description or ""
        assert "\n" not in description and description == refusal_reason(result)
        return dg.Failure(description, metadata=data.user_failure_data.metadata)

    unsigned = failure(run_decision(spec, None, as_name="erin", version=version, instance=instance))
    assert "unsigned decision" in str(unsigned.metadata["reasons"].value)
    assert unsigned.metadata["as_name"].value == "erin"

    forged = sign(
        sign_decision(spec, version, actor="dana", key=demo_key("dana")).statement,
        generate_key(),
    )
    path = tmp_path / "forged.json"
    path.write_text(forged.to_json(), encoding="utf-8")
    job = run_decision_file(steward, path)
    assert "does not verify" in str(failure(job).metadata["reasons"].value)
    rows = Ledger.for_project(spec).events(event=APPROVAL_REFUSED)
    assert len(rows) == refused_rows + 2 and rows[-1].actor == "dana"
    assert rows[-1].payload["signature"] == forged.signature  # the forged attempt is kept


def run_decision_file(steward: StewardInstance, path: Path) -> dg.ExecuteInProcessResult:
    from labelgate_cli.runner import project_definitions
    from resources.encoder import TextEncoderResource

    spec = steward.spec
    defs = project_definitions(spec, TextEncoderResource(kind="hashing"))
    job = defs.resolve_job_def(f"{spec.name}__decide_label_set")
    config = {"signed_decision_file": str(path)}
    return job.execute_in_process(
        instance=steward.instance,
        run_config={"ops": {f"{spec.name}__label_set_decision": {"config": config}}},
        raise_on_error=False,
    )


def test_the_signed_approval_shows_on_the_label_set_asset(steward: StewardInstance) -> None:
    spec, instance = steward.spec, steward.instance
    approved = LabelSetStore(spec).latest(status="approved")
    assert approved is not None
    key = dg.AssetKey([spec.name, "label_set"])
    (record,) = instance.fetch_observations(key, limit=1).records
    metadata = record.asset_observation.metadata  # type: ignore[union-attr]
    assert metadata["status"].value == "approved"
    assert metadata["decided_by"].value == "dana"
    assert metadata["labelgate/label_set_version"].value == approved.version
    row = Ledger.for_project(spec).events(event="label_set_approved")[-1]
    assert metadata["signature"].value == row.payload["signature"]
    run = instance.get_run_by_id(record.run_id)
    assert run is not None and run.tags["labelgate/signed_by"] == "dana"
    assert run.job_name == f"{spec.name}__decide_label_set"

    materialization = instance.get_latest_materialization_event(key)
    assert materialization is not None and materialization.asset_materialization is not None
    datasheet = materialization.asset_materialization.metadata["datasheet"]
    assert isinstance(datasheet, dg.MarkdownMetadataValue)
    shown = materialization.asset_materialization.metadata["labelgate/label_set_version"].value
    label_set = LabelSetStore(spec).get(int(shown))  # type: ignore[arg-type]
    assert datasheet.value == label_set.datasheet_path.read_text(encoding="utf-8")
    assert materialization.asset_materialization.metadata["status"].value == label_set.status


def gate_evaluations(steward: StewardInstance) -> list[dg.AssetCheckEvaluation]:
    found = []
    for run in steward.instance.get_runs():
        for entry in steward.instance.all_logs(run.run_id):
            event = entry.dagster_event
            if event is not None and event.event_type_value == "ASSET_CHECK_EVALUATION":
                data = event.event_specific_data
                if data.check_name == "gate":  # type: ignore[union-attr]
                    found.append(data)
    return found  # type: ignore[return-value]


def test_the_gate_is_a_check_with_its_evidence(steward: StewardInstance) -> None:
    evaluations = gate_evaluations(steward)
    assert len(evaluations) >= 2  # one per publish run
    passed = [e for e in evaluations if e.passed]
    assert passed, [e.description for e in evaluations]
    target = steward.spec.gate.target_accuracy
    for evaluation in evaluations:
        metadata = {k: v.value for k, v in evaluation.metadata.items()}
        assert metadata["target_accuracy"] == target and metadata["n_calibration"] >= 0
        if evaluation.passed:
            assert metadata["n"] >= metadata["k"] > 0 and metadata["reviews_needed"] == 0
            assert metadata["lower_bound"] >= target and 0 < metadata["threshold"] < 1
            assert f"{metadata['k']} of {metadata['n']}" in (evaluation.description or "")
        else:  # nothing proven: no threshold plotted, the reviews still needed said
            assert "threshold" not in metadata and metadata["reviews_needed"] > 0
            assert f"about {metadata['reviews_needed']} more" in (evaluation.description or "")


def _item_with_pii(steward: StewardInstance, skip: int = 0) -> tuple[str, str]:
    items = ProjectData(steward.spec).items(["item_id", "text"])
    labeled = LabelSetStore(steward.spec).latest(status="approved").item_ids()  # type: ignore[union-attr]
    found = [
        (i, t)
        for i, t in zip(items["item_id"], items["text"], strict=True)
        if i in labeled and find_pii(t)
    ]
    return found[skip]


def test_trace_job_shows_the_history_without_the_text(steward: StewardInstance) -> None:
    item_id, text = _item_with_pii(steward)
    result = run_trace(steward.spec, item_id, instance=steward.instance)
    assert result.success
    (output,) = [e for e in result.all_node_events if e.is_successful_output]
    metadata = output.step_output_data.metadata  # type: ignore[union-attr]
    report = metadata["trace"].value
    assert isinstance(metadata["trace"], dg.MarkdownMetadataValue)
    for expected in ("item_ingested", "label_proposed", "| v1 | approved | ", "row "):
        assert expected in report, expected
    assert "nan" not in report.lower().split()  # an auto label has no reviewer, not "nan"
    fragments = [text[f.start : f.end] for f in find_pii(text)]
    assert text not in report and fragments and not [f for f in fragments if f in report]
    unknown = run_trace(steward.spec, "0" * 16, instance=steward.instance)
    assert not unknown.success and "has no row about item" in refusal_reason(unknown)


def test_the_demo_says_where_to_look_in_the_ui(steward: StewardInstance) -> None:
    said = "\n".join(steward.steps)
    name = steward.spec.name
    assert f"job {name}__decide_label_set" in said and "signed with" in said
    assert f"job {name}__trace_item" in said
    assert f"check gate on {name}/accepted_labels" in said
    assert "refused (run" in said and "alice" in said


LOCATION = "pipelines.definitions:defs"  # the code location workspace.yaml loads
RUN_TIMEOUT = 300.0


def wait_for_run(steward: StewardInstance, page: Any) -> dg.DagsterRun:
    """The run the launchpad just started (from the page's URL), once it has finished."""
    page.wait_for_url("**/runs/**")
    run_id = page.url.rstrip("/").split("/runs/")[1].split("?")[0]
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        run = steward.instance.get_run_by_id(run_id)
        if run is not None and run.is_finished:
            page.reload()
            return run
        time.sleep(2.0)
    raise AssertionError(f"run {run_id} did not finish in {RUN_TIMEOUT:.0f}s")


def launch(page: Any, base: str, job: str, config: str) -> None:
    page.goto(f"{base}/locations/{LOCATION}/jobs/{job}/playground")
    set_launchpad_config(page, config)
    page.get_by_role("button", name="Launch Run").click()


def show_markdown(page: Any, key: str) -> Any:
    """Open the ``[Show Markdown]`` of the metadata entry named ``key``."""
    name = page.locator("td", has_text=re.compile(rf"^\s*{re.escape(key)}\s*$"))
    row = page.locator("tr").filter(has=name)
    row.get_by_text("[Show Markdown]").first.click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    return dialog


def test_a_steward_governs_in_a_real_browser(steward: StewardInstance, tmp_path: Path) -> None:
    """Chromium on dagster-webserver: the asset graph, a materialization's plot, the gate
    check, the trace job and a signed approval launched from the launchpad, and a forged one
    refused with its reason on the page."""
    spec, name = steward.spec, steward.spec.name
    draft = LabelSetStore(spec).latest(status="draft")
    assert draft is not None, "the demo's re-label leaves a new draft label set"
    signed = sign_decision(spec, draft.version, actor="dana", key=demo_key("dana"), reason="ui")
    (tmp_path / "approve.json").write_text(signed.to_json(), encoding="utf-8")
    forged = sign(signed.statement, generate_key())
    (tmp_path / "forged.json").write_text(forged.to_json(), encoding="utf-8")
    item_id, _ = _item_with_pii(steward, skip=2)
    shots = Path(os.environ.get("LABELGATE_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)  # set LABELGATE_SCREENSHOTS to keep them

    with chromium_page() as page, dagster_webserver(steward.env, tmp_path / "web.log") as base:
        page.goto(f"{base}/asset-groups")
        for asset in ("raw_items", "accepted_labels", "label_set", "label_export"):
            node = page.locator("[class*='AssetNode_assetName']", has_text=asset)  # in the graph
            node.first.wait_for()
        page.screenshot(path=shots / "1_asset_graph.png")

        page.goto(f"{base}/assets/{name}/accepted_labels")
        plot = show_markdown(page, "reliability")
        image = plot.locator("img").first
        image.wait_for()
        assert (image.get_attribute("src") or "").startswith("data:image/png;base64,")
        assert image.evaluate("img => img.naturalWidth") > 200  # a real, decoded picture
        page.screenshot(path=shots / "2_reliability_plot.png")
        page.keyboard.press("Escape")

        page.goto(f"{base}/assets/{name}/accepted_labels?view=checks")
        page.get_by_text("gate", exact=True).first.wait_for()
        for field in ("target_accuracy", "lower_bound", "reviews_needed"):
            page.get_by_text(field, exact=True).first.wait_for()
        page.screenshot(path=shots / "3_gate_check.png")

        config = f"ops:\n  {name}__item_trace:\n    config:\n      item_id: {item_id}\n"
        launch(page, base, f"{name}__trace_item", config)
        run = wait_for_run(steward, page)
        assert run.status == dg.DagsterRunStatus.SUCCESS
        trace = show_markdown(page, "trace")
        for text in (f"Item {item_id}", "item_ingested", "label_proposed", "Label sets"):
            trace.get_by_text(text).first.wait_for()
        page.screenshot(path=shots / "4_trace_job.png")
        page.keyboard.press("Escape")

        decision = f"{name}__label_set_decision"
        config = f"ops:\n  {decision}:\n    config:\n      signed_decision_file: {{}}\n"
        launch(page, base, f"{name}__decide_label_set", config.format(tmp_path / "forged.json"))
        run = wait_for_run(steward, page)
        assert run.status == dg.DagsterRunStatus.FAILURE
        refusal = f"approve of v{draft.version} by dana refused: the signature does not verify"
        page.get_by_text(refusal).first.wait_for()
        page.locator("td", has_text="ledger_row").first.wait_for()
        page.screenshot(path=shots / "5_forged_refused.png")
        assert LabelSetStore(spec).get(draft.version).status == "draft"

        launch(page, base, f"{name}__decide_label_set", config.format(tmp_path / "approve.json"))
        run = wait_for_run(steward, page)
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["labelgate/signed_by"] == "dana"  # tags set by the run itself
        page.get_by_text("ASSET_OBSERVATION").first.wait_for()
        for text in ("approved", "dana"):
            page.locator("td", has_text=re.compile(rf"^\s*{text}\s*$")).first.wait_for()
        page.get_by_text(signed.signature[:30]).first.wait_for()
        page.screenshot(path=shots / "6_signed_approval.png")
    assert LabelSetStore(spec).get(draft.version).status == "approved"


def test_erasure_leaves_no_text_in_dagster(steward: StewardInstance) -> None:
    item_id, text = _item_with_pii(steward, skip=1)
    erase_item(steward.spec, item_id, reason="erasure request 7", actor="dana")
    result = run_trace(steward.spec, item_id, instance=steward.instance)
    assert result.success
    stored = dagster_storage_text(steward)
    fragments = [text[f.start : f.end] for f in find_pii(text)]
    assert fragments and not [f for f in fragments if f in stored]
    assert text not in stored
    assert "(erased)" in stored  # the trace run's report says so


def test_a_missing_browser_fails_under_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = [str(tmp_path / "no-chromium")]
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no Chromium at"):
        chromium_path(missing)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match=r"install_browser\.sh"):
        chromium_path(missing)
