"""Governance through the Dagster assets: the ledger records the pipeline, materializations
carry the ledger head, approval through the job, a PII-free release behind blocking checks,
trace, erasure, and `labelgate verify`."""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from typer.testing import CliRunner

from labelgate.governance.approval import ApprovalRefused, decide, sign_decision
from labelgate.governance.export import ReleaseRefused, release_label_set
from labelgate.governance.release_checks import approval_problems
from labelgate.governance.trace import describe, trace_item
from labelgate.governance.verify import verify_project
from labelgate.label_sets import LabelSetStore
from labelgate.ledger import Ledger
from labelgate.ledger.events import (
    APPROVAL_REFUSED,
    ITEM_INGESTED,
    ITEM_QUARANTINED,
    LABEL_PROPOSED,
    LABEL_SET_CREATED,
    REVIEW_DECISION,
    THRESHOLD_CHOSEN,
)
from labelgate.pii import PIIRefused
from labelgate.project import ACCEPTED_LABELS, CANDIDATE_LABELS, RAW_ITEMS, ProjectData
from labelgate.spec import ProjectSpec, load_project
from labelgate.synth import write_corpus
from labelgate_cli.app import app
from labelgate_cli.governance_runs import run_decision, run_release
from labelgate_cli.runner import run_project
from resources.encoder import TextEncoderResource
from tests.conftest import REPO, ProjectFactory, review_round, write_project
from tests.signing_keys import demo_key
from tests.test_pii import STRUCTURED_SLOTS, record_generated_pii, surviving

IDENTITIES = REPO / "projects" / "identities" / "complaints.yaml"
ENCODER = TextEncoderResource(kind="hashing")


@dataclass
class Governed:
    spec: ProjectSpec
    instance: dg.DagsterInstance
    pii: dict[str, set[str]]
    folder: Path

    @property
    def data(self) -> ProjectData:
        return ProjectData(self.spec)

    @property
    def ledger(self) -> Ledger:
        return Ledger.for_project(self.spec)


@pytest.fixture(scope="module")
def governed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Governed]:
    """A project labeled, reviewed once (alice and bob) and labeled again, PII recorded."""
    folder = tmp_path_factory.mktemp("governed")
    with pytest.MonkeyPatch.context() as patch:
        pii = record_generated_pii(patch)
        corpus = write_corpus(folder / "corpus", n=400, n_batches=2, seed=7)
    spec = load_project(
        write_project(folder, corpus.inbox, governance={"identities": str(IDENTITIES)})
    )
    truth = pd.read_csv(corpus.truth_csv, dtype=str, keep_default_na=False)
    with dg.instance_for_test() as instance:
        review_round(spec, instance, truth, folder / "round1.csv", error_rate=0.02)
        yield Governed(spec, instance, pii, folder)


def assert_ledger_matches_labels(spec: ProjectSpec) -> None:
    """Every (item, labeler, version) in candidate_labels has exactly one label_proposed row
    and every such row has its label on disk; same for ingested items."""
    data, ledger = ProjectData(spec), Ledger.for_project(spec)
    on_disk: set[tuple[str, str, str]] = set()
    for key in data.tables.partitions(CANDIDATE_LABELS):
        frame = data.tables.read(CANDIDATE_LABELS, key)
        on_disk |= set(zip(frame.item_id, frame.labeler, frame.labeler_version, strict=True))
    proposed = Counter(
        (e.item_id, e.payload["labeler"], e.payload["labeler_version"])
        for e in ledger.events(event=LABEL_PROPOSED)
    )
    assert max(proposed.values()) == 1, "a label was recorded twice"
    assert on_disk <= set(proposed), "a label on disk has no ledger row"
    erased = ledger.erased_items()
    current = {k for k in proposed if k[0] not in erased}
    # Labels of earlier labeler versions stay in the ledger (history); the current version
    # of each labeler is on disk for every item.
    latest = {(k[1], k[2]) for k in on_disk}
    assert {k for k in current if (k[1], k[2]) in latest} <= on_disk, "ledger row, no label"
    ingested = {e.item_id for e in ledger.events(event=ITEM_INGESTED)} - erased
    assert set(data.items(["item_id"])["item_id"]) == ingested


def _approved_version(governed: Governed) -> int:
    store = LabelSetStore(governed.spec)
    approved = store.latest(status="approved")
    if approved is not None:
        return approved.version
    version = store.latest(status=None).version  # type: ignore[union-attr]
    signed = sign_decision(governed.spec, version, actor="dana", key=demo_key("dana"))
    result = run_decision(governed.spec, signed, instance=governed.instance)
    assert result.success
    return version


def test_ledger_records_the_pipeline(governed: Governed) -> None:
    ledger = governed.ledger
    counts = Counter(e.event for e in ledger.events())
    items = len(governed.data.items(["item_id"]))
    assert counts[ITEM_INGESTED] == items
    quarantined = len(governed.data.tables.read_all("quarantine"))
    assert counts[ITEM_QUARANTINED] == quarantined > 0  # reasons and places, no content
    assert counts[REVIEW_DECISION] == len(governed.data.reviews.all_reviews())
    assert counts[THRESHOLD_CHOSEN] >= 2 and counts[LABEL_SET_CREATED] == 1
    assert all("excerpt" not in e.payload for e in ledger.events(event=ITEM_QUARANTINED))
    assert ledger.verify().ok and verify_project(governed.spec).ok
    assert_ledger_matches_labels(governed.spec)


def test_rerun_duplicates_nothing(governed: Governed) -> None:
    before = Counter(e.event for e in governed.ledger.events())
    # force: label every batch again (an unchanged batch is skipped otherwise)
    run_project(governed.spec, instance=governed.instance, encoder=ENCODER, force=True)
    after = Counter(e.event for e in governed.ledger.events())
    for event in (ITEM_INGESTED, LABEL_PROPOSED, REVIEW_DECISION, LABEL_SET_CREATED):
        assert after[event] == before[event], event
    assert after[THRESHOLD_CHOSEN] == before[THRESHOLD_CHOSEN] + 1  # one per publish run
    assert_ledger_matches_labels(governed.spec)


def test_materializations_carry_ledger_head_and_label_set_version(governed: Governed) -> None:
    name = governed.spec.name
    for asset in (RAW_ITEMS, CANDIDATE_LABELS, ACCEPTED_LABELS, "label_set"):
        event = governed.instance.get_latest_materialization_event(dg.AssetKey([name, asset]))
        assert event is not None and event.asset_materialization is not None
        metadata = event.asset_materialization.metadata
        assert len(str(metadata["labelgate/ledger_head"].value)) == 64, asset
        assert "labelgate/label_set_version" in metadata, asset
    label_set = governed.instance.get_latest_materialization_event(dg.AssetKey([name, "label_set"]))
    assert label_set is not None and label_set.asset_materialization is not None
    assert label_set.asset_materialization.metadata["labelgate/label_set_version"].value == 1


def test_approval_through_the_job_with_four_eyes(governed: Governed) -> None:
    spec, instance = governed.spec, governed.instance
    with pytest.raises(ReleaseRefused, match="no approved label set"):
        release_label_set(spec)
    assert approval_problems(spec, 1) == ["label set v1 is draft, not approved"]
    alice = sign_decision(spec, 1, actor="alice", key=demo_key("alice"))
    refused = run_decision(spec, alice, instance=instance)
    assert not refused.success
    assert governed.ledger.events(event=APPROVAL_REFUSED)[-1].actor == "alice"
    with pytest.raises(ApprovalRefused, match="four-eyes"):
        actor = "erin" if _reviewed_by(governed, "erin") else "alice"
        decide(spec, 1, actor=actor, key=demo_key(actor))
    approved = run_decision(
        spec, sign_decision(spec, 1, actor="dana", key=demo_key("dana")), instance=instance
    )
    assert approved.success
    assert LabelSetStore(spec).get(1).status == "approved" and approval_problems(spec, 1) == []


def assert_no_structured_pii(governed: Governed, texts: pd.Series) -> None:
    left = surviving(governed.pii, iter(texts.astype(str)))
    for slot in STRUCTURED_SLOTS:
        assert left[slot] == [], f"{slot} leaked: {left[slot][:3]}"


def _reviewed_by(governed: Governed, name: str) -> bool:
    return name in set(governed.data.reviews.all_reviews()["reviewer"])


def test_release_holds_no_pii_and_passes_the_blocking_checks(governed: Governed) -> None:
    version = _approved_version(governed)
    path, redactions = run_release(governed.spec, instance=governed.instance, fmt="csv")
    assert path.name == f"complaints_label_set_v{version}.csv"
    assert sum(redactions.values()) > 20 and {"EMAIL", "CARD_NUMBER", "IBAN"} <= set(redactions)
    exported = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert len(exported) == LabelSetStore(governed.spec).get(version).manifest["rows"]
    assert exported["source_id"].str.match(r"^msg-\d{6}$").all()  # the user's own ids
    [release_row] = governed.ledger.events(event="export_made")[-1:]
    redacted_cells = (exported["text"].str.contains(r"\[[A-Z_]+\]")).sum()
    assert release_row.payload["redacted_cells"] == redacted_cells > 20
    assert_no_structured_pii(governed, exported["text"])
    # The review queue files that go to reviewers are redacted too.
    queue = pd.read_csv(governed.data.queue_dir / "review_queue.csv", dtype=str)
    assert all(
        v == [] for k, v in surviving(governed.pii, iter(queue["text"])).items() if k != "full_name"
    )
    # `labelgate export` (accepted labels, not a release) goes through the same gate.
    out = governed.folder / "plain_export"
    result = CliRunner().invoke(
        app, ["export", str(governed.spec.spec_path), "--format", "labelstudio", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = (out / "complaints_accepted_labels.json").read_text()
    assert all(
        v == [] for k, v in surviving(governed.pii, iter([text])).items() if k != "full_name"
    )
    exports = [e.payload for e in governed.ledger.events(event="export_made")]
    assert {Path(p["path"]).name for p in exports} >= {path.name, "complaints_accepted_labels.json"}


def test_refuse_policy_refuses_text_with_pii(governed: Governed) -> None:
    _approved_version(governed)
    strict = governed.spec.model_copy(
        update={"governance": governed.spec.governance.model_copy(update={"pii": "refuse"})}
    )
    with pytest.raises(PIIRefused, match=r"refused: .* contain personal data"):
        release_label_set(strict, out_dir=governed.folder / "refused")
    assert not (governed.folder / "refused" / "complaints_label_set_v1.parquet").exists()


def test_trace_shows_the_whole_history(governed: Governed) -> None:
    version = _approved_version(governed)
    labels = LabelSetStore(governed.spec).get(version).labels()
    human = labels[labels["source"] == "human"].iloc[0]
    trace = trace_item(governed.spec, human["item_id"])
    kinds = [e.event for e in trace.events]
    assert kinds[0] == ITEM_INGESTED and REVIEW_DECISION in kinds
    ingested = trace.of(ITEM_INGESTED)[0].payload
    assert ingested["source_file"].endswith(("batch_001.csv", "batch_002.parquet"))
    assert len(ingested["source_sha256"]) == 64
    proposals = trace.of(LABEL_PROPOSED)
    assert {p.payload["labeler"] for p in proposals} == {"rules", "embedding"}
    assert all(len(p.payload["probs"]) in (0, 6) for p in proposals)
    assert trace.label_sets[0]["version"] == version and trace.label_sets[0]["source"] == "human"
    assert "reviewed" in describe(trace.of(REVIEW_DECISION)[0])

    auto = labels[labels["source"] == "auto"]
    if len(auto):  # the threshold that admitted an auto-accepted item
        trace = trace_item(governed.spec, auto.iloc[0]["item_id"])
        assert trace.thresholds and trace.thresholds[0].payload["threshold"] is not None

    result = CliRunner().invoke(
        app, ["trace", human["item_id"], "-p", str(governed.spec.spec_path)]
    )
    assert result.exit_code == 0, result.output
    assert "item_ingested" in result.output and f"in label set v{version}" in result.output


def test_erasure(governed: Governed) -> None:
    spec, data = governed.spec, governed.data
    version = _approved_version(governed)
    labels = LabelSetStore(spec).get(version).labels()
    item = labels[labels["source"] == "human"].iloc[1]["item_id"]
    text = data.texts([item])["text"].iloc[0]

    result = CliRunner().invoke(
        app, ["erase", item, "--reason", "GDPR request 42", "-p", str(spec.spec_path)]
    )
    assert result.exit_code == 0, result.output

    def stored_anywhere() -> list[str]:
        found = []
        for path in spec.project_dir.rglob("*.parquet"):
            if "label_sets" in path.parts:
                continue  # immutable past versions hold ids and labels, never text
            frame = pd.read_parquet(path)
            if "item_id" in frame and (frame["item_id"] == item).any():
                found.append(str(path))
        for path in data.queue_dir.glob("*"):
            if item in path.read_text(encoding="utf-8", errors="replace"):
                found.append(str(path))
        return found

    assert stored_anywhere() == []
    # Re-running (re-ingesting the same source files) does not bring it back.
    run_project(spec, instance=governed.instance, encoder=ENCODER)
    assert stored_anywhere() == []
    latest = LabelSetStore(spec).latest(status=None)
    assert latest is not None and latest.version == version + 1
    assert item not in latest.item_ids() and item in LabelSetStore(spec).get(version).item_ids()
    assert latest.manifest["erased_excluded"] == 1
    trace = trace_item(spec, item)
    assert trace.erased and trace.of("item_erased")[0].payload["reason"] == "GDPR request 42"
    assert text not in str([e.payload for e in governed.ledger.events()])  # never content
    assert verify_project(spec).ok
    assert_ledger_matches_labels(spec)


def test_verify_command_names_the_first_bad_file(governed: Governed) -> None:
    project = str(governed.spec.spec_path)
    ok = CliRunner().invoke(app, ["verify", project])
    assert ok.exit_code == 0 and "chain intact" in ok.output
    label_set = LabelSetStore(governed.spec).get(1)
    raw = bytearray(label_set.labels_path.read_bytes())
    raw[100] ^= 0xFF
    label_set.labels_path.write_bytes(bytes(raw))
    bad = CliRunner().invoke(app, ["verify", project])
    assert bad.exit_code == 1
    assert "labels.parquet" in bad.output and "modified" in bad.output


def test_training_and_release_are_gated_by_blocking_checks(make_project: ProjectFactory) -> None:
    from pipelines.definitions import build_definitions

    spec = make_project(training={"method": "head"})
    defs = build_definitions([spec], encoder=ENCODER)
    blocking = {
        (check.asset_key.path[-1], check.name)
        for checks in defs.asset_checks or []
        for check in checks.check_specs
        if check.blocking
    }
    assert {
        ("trained_model", "uses_approved_label_set"),
        ("label_export", "uses_approved_label_set"),
        ("label_export", "no_pii"),
    } <= blocking
