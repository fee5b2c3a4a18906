"""Signed label-set decisions: only a signature by the decider's own key counts; unsigned,
forged and replayed decisions are refused (and logged); `labelgate verify` re-checks every
decision row's signature, even when the hash chain was rebuilt around an edited row."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labelgate.governance.approval import ApprovalRefused, decide, sign_decision
from labelgate.governance.signing import (
    SignedDecision,
    decision_problems,
    generate_key,
    public_key_line,
    sign,
)
from labelgate.governance.verify import verify_project
from labelgate.identities import IdentityError, load_identities_file
from labelgate.label_sets import LabelSetStore, publish_label_set
from labelgate.ledger import Ledger
from labelgate.ledger.events import APPROVAL_REFUSED, LABEL_SET_APPROVED
from labelgate.ledger.hashing import canonical_json
from labelgate.spec import ProjectSpec
from labelgate_cli.app import app
from tests.conftest import ProjectFactory
from tests.ledger_tamper import rewrite_and_rehash
from tests.signing_keys import DEMO_KEYS, demo_key
from tests.test_label_sets import IDENTITIES, LABELS, accepted


@pytest.fixture
def spec(make_project: ProjectFactory) -> ProjectSpec:
    return make_project(governance={"identities": str(IDENTITIES)})


def two_versions(spec: ProjectSpec) -> tuple[int, int]:
    first = publish_label_set(spec, accepted(LABELS)).label_set.version
    second = publish_label_set(spec, accepted(LABELS[:3])).label_set.version
    return first, second


def refused(spec: ProjectSpec, version: int, match: str, **kwargs: object) -> None:
    before = len(Ledger.for_project(spec).events(event=APPROVAL_REFUSED))
    with pytest.raises(ApprovalRefused, match=match):
        decide(spec, version, actor="dana", **kwargs)  # type: ignore[arg-type]
    assert len(Ledger.for_project(spec).events(event=APPROVAL_REFUSED)) == before + 1
    assert LabelSetStore(spec).get(version).status == "draft"


def test_unsigned_forged_and_replayed_decisions_are_refused(spec: ProjectSpec) -> None:
    v1, v2 = two_versions(spec)
    refused(spec, v1, "unsigned decision")
    refused(spec, v1, "does not verify with dana's public key", key=generate_key())
    refused(spec, v1, "does not verify", key=demo_key("erin"))  # another steward's key
    good = sign_decision(spec, v1, actor="dana", key=demo_key("dana"))
    bad_bytes = good.signature[:-6] + (
        "AAAAA=" if not good.signature.endswith("AAAAA=") else "BBBBB="
    )
    refused(spec, v1, "does not verify", signed=SignedDecision(good.statement, bad_bytes))
    # Replays: a signature for v1 used for v2, or for other content, another decision,
    # another project or another reason.
    refused(spec, v2, "is for version 1, not 2", signed=good)
    for field, value in [
        ("content_sha256", "0" * 64),
        ("decision", "reject"),
        ("project", "other"),
        ("reason", "edited"),
    ]:
        forged = sign(replace(good.statement, **{field: value}), demo_key("dana"))
        refused(spec, v1, f"is for {field}", signed=forged)
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat(timespec="seconds")
    refused(
        spec,
        v1,
        "in the future",
        signed=sign(replace(good.statement, signed_at=future), demo_key("dana")),
    )

    result = decide(spec, v1, actor="dana", signed=good)
    assert result.label_set.status == "approved"
    row = Ledger.for_project(spec).events(event=LABEL_SET_APPROVED)[-1]
    assert row.payload["signature"] == good.signature
    assert row.payload["signed_at"] == good.statement.signed_at
    assert row.payload["signer_key"] == public_key_line(demo_key("dana"))
    assert verify_project(spec).ok


def test_identity_without_a_key_cannot_decide(make_project: ProjectFactory, tmp_path: Path) -> None:
    ids = tmp_path / "ids.yaml"
    ids.write_text("identities:\n  - {name: dana, roles: [steward]}\n")
    spec = make_project(governance={"identities": str(ids)})
    version = publish_label_set(spec, accepted(LABELS)).label_set.version
    refused(spec, version, "no public_key", key=demo_key("dana"))
    ids.write_text("identities:\n  - {name: dana, roles: [steward], public_key: 'ed25519:abc'}\n")
    with pytest.raises(IdentityError, match="not a valid Ed25519 key"):
        load_identities_file(ids)


@pytest.mark.parametrize(
    ("edit", "finding"),
    [
        ({"reason": "nobody checked anything"}, "signature does not verify"),
        ({"version": 2, "content_sha256": None}, "signature does not verify"),
        ({"signature": None}, "carries no signature"),
        ({"content_sha256": "0" * 64}, "names content"),
        ({"signer_key": "attacker"}, "does not give to dana"),
    ],
)
def test_verify_flags_a_tampered_decision_row(spec: ProjectSpec, edit: dict, finding: str) -> None:
    v1, v2 = two_versions(spec)
    decide(spec, v1, actor="dana", key=demo_key("dana"), reason="spot-checked")
    assert verify_project(spec).ok
    row = Ledger.for_project(spec).events(event=LABEL_SET_APPROVED)[-1]
    payload = dict(row.payload)
    if "version" in edit:  # moved to v2 with v2's content hash: a replayed approval
        edit = {
            **edit,
            "content_sha256": LabelSetStore(spec).created_events()[v2].payload["content_sha256"],
        }
    if edit.get("signer_key") == "attacker":  # re-signed by someone else's key
        attacker = generate_key()
        statement = sign_decision(spec, v1, actor="dana", key=attacker, reason="spot-checked")
        edit = {
            "signer_key": public_key_line(attacker),
            "signature": statement.signature,
            "signed_at": statement.statement.signed_at,
        }
    payload.update(edit)
    payload = {k: v for k, v in payload.items() if v is not None}
    rewrite_and_rehash(Ledger.for_project(spec), row.seq, payload=canonical_json(payload))
    assert Ledger.for_project(spec).verify().ok  # the chain was rebuilt to match
    result = verify_project(spec)
    assert not result.ok
    assert any(finding in p and f"ledger row {row.seq}" in p for p in result.problems), (
        result.problems
    )


def test_verify_flags_a_decision_row_that_replays_another_rows_signature(spec: ProjectSpec) -> None:
    v1, v2 = two_versions(spec)
    decide(spec, v1, actor="dana", key=demo_key("dana"))
    decide(spec, v2, actor="dana", key=demo_key("dana"))
    assert verify_project(spec).ok
    first, second = Ledger.for_project(spec).events(event=LABEL_SET_APPROVED)[-2:]
    ledger = Ledger.for_project(spec)  # v1's signed row copied over v2's:
    rewrite_and_rehash(ledger, second.seq, payload=canonical_json(dict(first.payload)))
    assert Ledger.for_project(spec).verify().ok
    problems = verify_project(spec).problems
    assert any(
        f"ledger row {second.seq}" in p and f"replays the signature of ledger row {first.seq}" in p
        for p in problems
    ), problems


def test_cli_keygen_sign_and_approve(
    make_project: ProjectFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    key = tmp_path / "keys" / "zoe.pem"
    made = runner.invoke(app, ["keygen", "--as", "zoe", "--out", str(key)])
    assert made.exit_code == 0, made.output
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    line = next(s for s in made.output.splitlines() if "public_key:" in s).split('"')[1]
    again = runner.invoke(app, ["keygen", "--as", "zoe", "--out", str(key)])
    assert again.exit_code != 0 and "already exists" in again.output
    ids = tmp_path / "ids.yaml"
    ids.write_text(f"identities:\n  - {{name: zoe, roles: [steward], public_key: '{line}'}}\n")
    spec = make_project(governance={"identities": str(ids)})
    v1, v2 = two_versions(spec)
    project = str(spec.spec_path)

    unsigned = runner.invoke(app, ["approve", project, str(v1), "--as", "zoe"])
    assert unsigned.exit_code != 0 and "no signing key" in unsigned.output
    wrong = runner.invoke(
        app, ["approve", project, str(v1), "--as", "zoe", "--key", str(DEMO_KEYS / "dana.pem")]
    )
    assert wrong.exit_code != 0 and "does not verify" in wrong.output
    monkeypatch.setenv("LABELGATE_KEY", str(key))
    out = tmp_path / "decision.json"
    signed = runner.invoke(
        app,
        [
            "sign",
            project,
            str(v2),
            "--as",
            "zoe",
            "--out",
            str(out),
            "--decision",
            "reject",
            "--reason",
            "too few reviews",
        ],
    )
    assert signed.exit_code == 0, signed.output
    data = json.loads(out.read_text())
    assert (
        data["version"] == v2
        and data["decision"] == "reject"
        and data["signature"].startswith("ed25519:")
    )
    ok = runner.invoke(app, ["approve", project, str(v1), "--as", "zoe", "--reason", "checked"])
    assert ok.exit_code == 0, ok.output
    assert LabelSetStore(spec).get(v1).status == "approved"
    assert (
        decide(
            spec,
            v2,
            actor="zoe",
            decision="reject",
            reason="too few reviews",
            signed=SignedDecision.read(out),
        ).label_set.status
        == "rejected"
    )
    verified = runner.invoke(app, ["verify", project])
    assert verified.exit_code == 0, verified.output


def test_a_used_signature_is_refused_as_a_replay(spec: ProjectSpec) -> None:
    v1, _ = two_versions(spec)
    good = sign_decision(spec, v1, actor="dana", key=demo_key("dana"))
    first = decide(spec, v1, actor="dana", signed=good)
    with pytest.raises(ApprovalRefused, match=f"replayed.*ledger row {first.seq}") as refusal:
        decide(spec, v1, actor="dana", signed=good)
    assert any(reason.startswith("replayed") for reason in refusal.value.reasons)
    assert (
        decision_problems(good, good.statement, public_key=public_key_line(demo_key("dana"))) == []
    )
    assert decision_problems(
        good, good.statement, public_key=public_key_line(demo_key("dana")), used={good.signature: 7}
    ) == ["replayed: this signature was already used at ledger row 7"]
