"""Label sets: versions only on changed content, status from the ledger, tamper detection of
the files, crash recovery, four-eyes approval with logged refusals, the datasheet."""

import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from labelgate.governance.approval import ApprovalRefused, decide, reviewers_of
from labelgate.governance.recording import record_reviews
from labelgate.governance.signing import generate_key, public_key_line
from labelgate.governance.verify import verify_project
from labelgate.identities import IdentityError, load_identities_file
from labelgate.label_sets import LabelSetError, LabelSetStore, publish_label_set
from labelgate.label_sets.evidence import clopper_pearson_interval
from labelgate.label_sets.store import staged_dir_name
from labelgate.ledger import Ledger
from labelgate.ledger import schema as ledger_schema
from labelgate.ledger.events import (
    APPROVAL_REFUSED,
    LABEL_SET_APPROVED,
    LABEL_SET_CREATED,
    REVIEW_DECISION,
)
from labelgate.spec import ProjectSpec
from tests.conftest import REPO, ProjectFactory
from tests.signing_keys import demo_key

IDENTITIES = REPO / "projects" / "identities" / "complaints.yaml"


@pytest.fixture
def spec(make_project: ProjectFactory) -> ProjectSpec:
    return make_project(governance={"identities": str(IDENTITIES)})


def accepted(labels: list[str], reviewers: list[str | None] | None = None) -> pd.DataFrame:
    n = len(labels)
    reviewers = reviewers or [None] * n
    return pd.DataFrame(
        {
            "item_id": [f"item{i:03d}" for i in range(n)],
            "label": labels,
            "source": ["human" if r else "auto" for r in reviewers],
            "confidence": [1.0 if r else 0.97 for r in reviewers],
            "labeler_versions": ['{"rules": "rules-1", "embedding": "emb-1"}'] * n,
            "reviewer": reviewers,
            "run_id": ["run-a"] * n,
        }
    )


def reviews_by(frame: pd.DataFrame) -> pd.DataFrame:
    human = frame[frame["reviewer"].notna()]
    return pd.DataFrame(
        {
            "item_id": human["item_id"],
            "label": human["label"],
            "reviewer": human["reviewer"],
            "purpose": "calibration",
            "reviewed_at": "2026-01-01T00:00:00+00:00",
            "review_file": "/reviews/round1.csv",
            "review_file_sha256": "f" * 64,
        }
    )


LABELS = ["card_fraud", "loan_inquiry", "card_fraud", "fees_complaint"]


def test_new_version_only_when_content_changes(spec: ProjectSpec) -> None:
    first = publish_label_set(spec, accepted(LABELS), run_id="run-a")
    assert first.created and first.label_set.version == 1 and first.label_set.status == "draft"
    # Same labels from a later run (other run id, same content): no new version.
    again = publish_label_set(spec, accepted(LABELS).assign(run_id="run-b"), run_id="run-b")
    assert not again.created and again.label_set.version == 1
    changed = publish_label_set(spec, accepted([*LABELS[:3], "address_change"]), run_id="run-c")
    assert changed.created and changed.label_set.version == 2
    store = LabelSetStore(spec)
    assert [s.version for s in store.versions()] == [1, 2]
    assert store.latest() is None and store.latest(status=None).version == 2  # type: ignore[union-attr]
    manifest = changed.label_set.manifest
    assert manifest["counts_per_class"]["address_change"] == 1
    assert manifest["labeler_versions"] == {"embedding": ["emb-1"], "rules": ["rules-1"]}
    assert manifest["project_file"]["sha256"] and manifest["rows"] == 4
    assert changed.label_set.labels()["item_id"].tolist() == [f"item{i:03d}" for i in range(4)]
    with pytest.raises(LabelSetError, match="no label set v9"):
        store.get(9)


def test_verify_names_a_modified_label_set_file(spec: ProjectSpec) -> None:
    label_set = publish_label_set(spec, accepted(LABELS)).label_set
    assert verify_project(spec).ok
    data = bytearray(label_set.labels_path.read_bytes())
    data[len(data) // 2] ^= 0x01  # flip one bit in the middle of the Parquet file
    label_set.labels_path.write_bytes(bytes(data))
    result = verify_project(spec)
    assert not result.ok and result.first_bad is not None
    assert str(label_set.labels_path) in result.first_bad and "modified" in result.first_bad

    manifest = json.loads(label_set.manifest_path.read_text())
    manifest["counts_per_class"]["card_fraud"] = 99
    label_set.manifest_path.write_text(json.dumps(manifest))
    assert any(str(label_set.manifest_path) in p for p in verify_project(spec).problems)


def test_verify_sees_rows_cut_from_the_end_even_with_a_rewritten_head(spec: ProjectSpec) -> None:
    publish_label_set(spec, accepted(LABELS), run_id="run-a")
    publish_label_set(spec, accepted([*LABELS[:3], "address_change"]), run_id="run-b")
    ledger = Ledger.for_project(spec)
    (v2,) = [e for e in ledger.events(event=LABEL_SET_CREATED) if e.payload["version"] == 2]
    events, heads = ledger_schema.events, ledger_schema.heads
    with ledger.engine.begin() as db:  # cut v2's row and all after it; make the head agree
        db.execute(sa.delete(events).where(events.c.project == spec.name, events.c.seq >= v2.seq))
        db.execute(
            sa.update(heads)
            .where(heads.c.project == spec.name)
            .values(seq=v2.seq - 1, hash=v2.prev_hash)
        )
    assert ledger.verify().ok  # the chain alone is consistent again
    result = verify_project(spec)
    assert not result.ok
    assert any("label set v2" in p and "no label_set_created row" in p for p in result.problems)
    assert any("past the last row" in p for p in result.problems)


def test_crash_after_commit_finishes_the_version(
    spec: ProjectSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    import labelgate.label_sets.publish as publish_module

    real_replace = publish_module.os.replace

    def crash(src: object, dst: object) -> None:
        raise KeyboardInterrupt("killed after the ledger commit, before the rename")

    monkeypatch.setattr(publish_module.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        publish_label_set(spec, accepted(LABELS))
    monkeypatch.setattr(publish_module.os, "replace", real_replace)
    root = spec.project_dir / "label_sets"
    assert (root / staged_dir_name(1)).is_dir() and not (root / "v1").exists()
    store = LabelSetStore(spec)
    assert store.recover() == [1]
    assert store.get(1).labels_path.is_file() and verify_project(spec).ok


def test_four_eyes_approval(spec: ProjectSpec) -> None:
    frame = accepted(LABELS, reviewers=["alice", None, "erin", None])
    ledger = Ledger.for_project(spec)
    record_reviews(ledger, reviews_by(frame), run_id="import-1")
    version = publish_label_set(spec, frame).label_set.version

    refusals = {
        "bob": "deciding on a label set needs steward",  # a reviewer, not a steward
        "erin": r"erin reviewed 1 item\(s\)",  # a steward who reviewed one of its labels
        "mallory": "not in the identities file",
    }
    for actor, reason in refusals.items():
        with pytest.raises(ApprovalRefused, match=reason):
            decide(spec, version, actor=actor)
    logged = ledger.events(event=APPROVAL_REFUSED)
    assert [e.actor for e in logged] == ["bob", "erin", "mallory"]
    assert all(e.payload["version"] == version for e in logged)
    assert LabelSetStore(spec).get(version).status == "draft"

    result = decide(
        spec, version, actor="dana", reason="spot-checked 20 labels", key=demo_key("dana")
    )
    assert result.label_set.status == "approved"
    approved = ledger.events(event=LABEL_SET_APPROVED)
    assert [(e.actor, e.payload["reason"]) for e in approved] == [
        ("dana", "spot-checked 20 labels")
    ]
    assert LabelSetStore(spec).latest().version == version  # type: ignore[union-attr]
    with pytest.raises(ApprovalRefused, match="already approved"):
        decide(spec, version, actor="dana", key=demo_key("dana"))
    assert verify_project(spec).ok


def test_rejection_and_a_tampered_set_cannot_be_approved(spec: ProjectSpec) -> None:
    first = publish_label_set(spec, accepted(LABELS)).label_set
    decide(
        spec,
        first.version,
        actor="dana",
        decision="reject",
        reason="wrong classes",
        key=demo_key("dana"),
    )
    assert LabelSetStore(spec).get(first.version).status == "rejected"
    second = publish_label_set(spec, accepted(LABELS[:3])).label_set
    second.labels_path.write_bytes(second.labels_path.read_bytes()[:-10])
    with pytest.raises(ApprovalRefused, match="modified"):
        decide(spec, second.version, actor="dana", key=demo_key("dana"))


def test_identities_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "ids.yaml"
    path.write_text("identities:\n  - {name: a, roles: [steward]}\n  - {name: a, roles: []}\n")
    with pytest.raises(IdentityError, match="duplicate names"):
        load_identities_file(path)
    path.write_text("identities:\n  - {name: a, roles: [king]}\n")
    with pytest.raises(IdentityError, match="unknown role"):
        load_identities_file(path)
    path.write_text("people: []\n")
    with pytest.raises(IdentityError, match="identities"):
        load_identities_file(path)
    with pytest.raises(IdentityError, match="does not exist"):
        load_identities_file(tmp_path / "missing.yaml")


def test_identities_from_env(spec: ProjectSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    version = publish_label_set(spec, accepted(LABELS)).label_set.version
    other = spec.project_dir / "ids.yaml"
    key = generate_key()
    other.write_text(
        f"identities:\n  - {{name: zoe, roles: [steward], public_key: '{public_key_line(key)}'}}\n"
    )
    monkeypatch.setenv("LABELGATE_IDENTITIES", str(other))
    # the env cannot bring another identities file into force (issue 12)
    with pytest.raises(ApprovalRefused, match="differs from the project's identities file"):
        decide(spec, version, actor="zoe", key=key)
    copy = spec.project_dir / "copy.yaml"
    copy.write_bytes(IDENTITIES.read_bytes())  # the same file elsewhere is fine
    monkeypatch.setenv("LABELGATE_IDENTITIES", str(copy))
    assert decide(spec, version, actor="dana", key=demo_key("dana")).label_set.status == "approved"


def test_clopper_pearson_interval() -> None:
    assert clopper_pearson_interval(0, 0, 0.95) == (0.0, 1.0)
    lower, upper = clopper_pearson_interval(10, 10, 0.95)
    assert upper == 1.0 and lower == pytest.approx(0.6915, abs=1e-4)  # (alpha/2)^(1/n)
    lower, upper = clopper_pearson_interval(5, 10, 0.95)
    assert lower == pytest.approx(0.1871, abs=1e-4) and upper == pytest.approx(0.8129, abs=1e-4)


def test_reviewers_of_counts_each_source_of_a_review(spec: ProjectSpec) -> None:
    """The labels file, a review row's actor and its payload ``reviewer`` each make a
    reviewer on their own (four-eyes must see a reviewer named in only one of them)."""
    identities = load_identities_file(IDENTITIES)
    frame = accepted(LABELS, reviewers=["ERIN", None, None, None])
    label_set = publish_label_set(spec, frame).label_set
    ledger = Ledger.for_project(spec)
    assert reviewers_of(label_set, ledger, identities) == {"erin": 1}  # labels file only
    ledger.append(REVIEW_DECISION, {"reviewer": "Bob"}, item_id="item001", actor="import")
    ledger.append(REVIEW_DECISION, {}, item_id="item002", actor="alice")
    ledger.append(REVIEW_DECISION, {}, item_id="other", actor="dana")  # not in the set
    assert reviewers_of(label_set, ledger, identities) == {
        "alice": 1,
        "bob": 1,
        "erin": 1,
        "import": 1,
    }
