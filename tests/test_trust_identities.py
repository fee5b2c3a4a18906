"""Issue 12, item 1: no spelling of a reviewer gets past four-eyes, and the identities file in
force is pinned by the project's ledger.

Each of the eight bypass variants (``Erin``, ``ERIN``, ``erin`` + zero-width space, Cyrillic
``еrin``, fullwidth ``ｅｒｉｎ``, a Label Studio ``completed_by`` e-mail or user id, a second
reviewer giving the same answer) is imported; the steward erin then cannot approve the
label set holding her labels, neither on the CLI nor through the Dagster decide job.
"""

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from labelgate.errors import ReviewFileError
from labelgate.governance.approval import ApprovalRefused, decide, sign_decision
from labelgate.governance.identities_pin import current_pin
from labelgate.governance.recording import record_reviews
from labelgate.governance.signing import generate_key, public_key_line
from labelgate.identities import IdentityError, fold, load_identities_file, skeleton
from labelgate.label_sets import publish_label_set
from labelgate.ledger import Ledger
from labelgate.ledger.events import (
    APPROVAL_REFUSED,
    IDENTITIES_ACCEPTED,
    IDENTITIES_PINNED,
    LABEL_SET_APPROVED,
    REVIEW_DECISION,
)
from labelgate.project import RAW_ITEMS, ProjectData
from labelgate.review.store import REVIEWED_COLUMNS
from labelgate.spec import ProjectSpec
from labelgate_cli.app import app
from labelgate_cli.governance_runs import run_decision
from tests.conftest import ProjectFactory
from tests.signing_keys import DEMO_KEYS, demo_key


def _key(name: str) -> str:
    return public_key_line(demo_key(name))


IDENTITIES_YAML = f"""identities:
  - {{name: alice, roles: [reviewer], emails: [alice@bank.example], ids: [3],
     public_key: "{_key("alice")}"}}
  - {{name: dana, roles: [steward], public_key: "{_key("dana")}"}}
  - {{name: erin, roles: [steward, reviewer], emails: [erin@bank.example], ids: [7],
     public_key: "{_key("erin")}"}}
"""
ITEMS = ["a1", "b2", "c3", "d4"]
CLASSES_USED = ["card_fraud", "loan_inquiry", "card_fraud", "fees_complaint"]


@pytest.fixture
def identities_file(tmp_path: Path) -> Path:
    path = tmp_path / "identities.yaml"
    path.write_text(IDENTITIES_YAML, encoding="utf-8")
    return path


@pytest.fixture
def spec(make_project: ProjectFactory, identities_file: Path) -> ProjectSpec:
    spec = make_project(governance={"identities": str(identities_file)})
    items = pd.DataFrame(
        {
            "item_id": ITEMS,
            "text": [f"message {i}" for i in ITEMS],
            "batch": "b1",
            "source_file": "inbox.csv",
            "source_row": range(len(ITEMS)),
            "source_id": None,
        }
    )
    ProjectData(spec).tables.write(RAW_ITEMS, items, "b1")
    return spec


# --- resolution -------------------------------------------------------------------------


def test_every_spelling_of_erin_resolves_to_erin(identities_file: Path) -> None:
    identities = load_identities_file(identities_file)
    for written in ("erin", "Erin", "ERIN", "erin\u200b", "\u202eerin", "ｅｒｉｎ", " erin "):
        assert identities.resolve(written).name == "erin", written
    assert identities.resolve("Erin@Bank.Example").name == "erin"  # an e-mail she lists
    assert identities.resolve("7").name == "erin"  # a Label Studio user id she lists
    assert identities.resolve("3").name == "alice"


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("\u0435rin", "looks like identity 'erin'"),  # Cyrillic е
        ("\u0395RIN", "looks like identity 'erin'"),  # Greek Ε
        ("erin\n", "control character"),
        ("\x1b[31merin", "control character"),
        ('=HYPERLINK("http://x")', "formula prefix"),
        ("@erin", "formula prefix"),
        ("e" * 65, "more than 64"),
        ("\u200b", "empty"),
        ("mallory", "not in the identities file"),
        ("8", "not in the identities file"),
    ],
)
def test_unsafe_unknown_and_look_alike_names_are_refused(
    identities_file: Path, written: str, reason: str
) -> None:
    with pytest.raises(IdentityError, match=reason):
        load_identities_file(identities_file).resolve(written)


def test_an_identities_file_with_look_alike_names_is_refused(tmp_path: Path) -> None:
    assert skeleton("\u0435rin") == skeleton("erin") and fold("ＥＲＩＮ") == "erin"
    path = tmp_path / "ids.yaml"
    for second in ("ERIN", "\u0435rin", "ｅｒｉｎ"):
        path.write_text(
            f"identities:\n  - {{name: erin, roles: [steward]}}\n  - {{name: {second}}}\n",
            encoding="utf-8",
        )
        with pytest.raises(IdentityError, match="same name"):
            load_identities_file(path)
    path.write_text('identities:\n  - {name: "a\\u0007b", roles: [steward]}\n', encoding="utf-8")
    with pytest.raises(IdentityError, match="control character"):
        load_identities_file(path)


# --- the eight bypass variants ------------------------------------------------------------


def _csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    frame = pd.DataFrame(rows, columns=["item_id", "label", "reviewer"])
    frame.to_csv(path, index=False, encoding="utf-8")
    return path


def _label_studio(path: Path, completed_by: object) -> Path:
    tasks = [
        {
            "id": n,
            "data": {"item_id": item, "text": "..."},
            "annotations": [
                {
                    "completed_by": completed_by,
                    "result": [
                        {
                            "from_name": "label",
                            "to_name": "text",
                            "type": "choices",
                            "value": {"choices": [label]},
                        }
                    ],
                }
            ],
        }
        for n, (item, label) in enumerate(zip(ITEMS[:2], CLASSES_USED[:2], strict=True))
    ]
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    return path


def _review_file(variant: str, folder: Path) -> Path:
    pairs = list(zip(ITEMS[:2], CLASSES_USED[:2], strict=True))
    if variant == "ls_email":
        return _label_studio(folder / "ls.json", {"id": 99, "email": "erin@bank.example"})
    if variant == "ls_id":
        return _label_studio(folder / "ls.json", 7)
    if variant == "duplicate":  # alice answers first, erin gives the same answers after her
        rows = [(i, label, "alice") for i, label in pairs]
        return _csv(folder / "r.csv", rows + [(i, label, "erin") for i, label in pairs])
    return _csv(folder / "r.csv", [(i, label, variant) for i, label in pairs])


VARIANTS = ["Erin", "ERIN", "erin\u200b", "ｅｒｉｎ", "ls_email", "ls_id", "duplicate"]


def _publish_reviewed(spec: ProjectSpec) -> int:
    data = ProjectData(spec)
    record_reviews(Ledger.for_project(spec), data.reviews.all_reviews(), run_id="import-1")
    reviewed = data.reviewed()
    frame = pd.DataFrame(
        {
            "item_id": ITEMS,
            "label": CLASSES_USED,
            "source": ["human", "human", "auto", "auto"],
            "confidence": [1.0, 1.0, 0.97, 0.97],
            "labeler_versions": ['{"rules": "rules-1"}'] * 4,
            "reviewer": [*reviewed.set_index("item_id").loc[ITEMS[:2], "reviewer"], None, None],
            "run_id": "run-a",
        }
    )
    return publish_label_set(spec, frame).label_set.version


@pytest.mark.parametrize("variant", VARIANTS)
def test_erin_cannot_approve_her_own_labels_however_spelled(
    spec: ProjectSpec, tmp_path: Path, variant: str
) -> None:
    data = ProjectData(spec)
    data.import_review_file(_review_file(variant, tmp_path))
    stored = data.reviews.all_reviews()
    assert "erin" in set(stored["reviewer"])  # stored as the canonical identity
    assert set(stored["reviewer"]) <= {"alice", "erin"}
    version = _publish_reviewed(spec)
    ledger = Ledger.for_project(spec)
    if variant == "duplicate":  # both reviewers of each item are in the ledger
        decisions = ledger.events(event=REVIEW_DECISION)
        assert sorted((e.item_id, e.actor) for e in decisions) == sorted(
            (i, who) for i in ITEMS[:2] for who in ("alice", "erin")
        )

    with pytest.raises(ApprovalRefused, match=r"erin reviewed 2 item\(s\)"):
        decide(spec, version, actor="erin")
    erin_key = str(DEMO_KEYS / "erin.pem")
    cli = CliRunner().invoke(
        app, ["approve", str(spec.spec_path), str(version), "--as", "ERIN", "--key", erin_key]
    )
    assert cli.exit_code == 2 and "four-eyes" in cli.output
    assert [e.actor for e in ledger.events(event=APPROVAL_REFUSED)] == ["erin", "erin"]
    assert ledger.events(event=LABEL_SET_APPROVED) == []
    result = decide(spec, version, actor="dana", key=demo_key("dana"))  # reviewed nothing
    assert result.label_set.status == "approved"


@pytest.mark.parametrize("variant", VARIANTS)
def test_erin_cannot_approve_through_the_dagster_job(
    spec: ProjectSpec, tmp_path: Path, variant: str
) -> None:
    import dagster as dg

    ProjectData(spec).import_review_file(_review_file(variant, tmp_path))
    version = _publish_reviewed(spec)
    with dg.instance_for_test() as instance:
        for as_name in ("Erin", "ｅｒｉｎ", "erin@bank.example"):  # the launchpad's enum
            with pytest.raises(dg.DagsterInvalidConfigError, match="not in enum"):
                run_decision(spec, None, as_name=as_name, version=version, instance=instance)
        unsigned = run_decision(spec, None, as_name="erin", version=version, instance=instance)
        assert not unsigned.success
        own_key = sign_decision(spec, version, actor="Erin", key=demo_key("erin"))
        assert own_key.statement.signer == "erin"  # signed as the canonical identity
        assert not run_decision(spec, own_key, instance=instance).success
        signed = sign_decision(spec, version, actor="dana", key=demo_key("dana"))
        approved = run_decision(spec, signed, instance=instance)
        assert approved.success
    ledger = Ledger.for_project(spec)
    refusals = ledger.events(event=APPROVAL_REFUSED)
    assert [e.actor for e in refusals] == ["erin"] * 2  # recorded as the canonical identity
    assert all("four-eyes" in " ".join(e.payload["refused_because"]) for e in refusals)


def test_review_import_on_the_cli_stores_the_canonical_identity(
    spec: ProjectSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    path = _review_file("ls_email", tmp_path)
    project = str(spec.spec_path)
    result = CliRunner().invoke(
        app, ["review", "import", project, str(path), "--encoder", "hashing"]
    )
    assert result.exit_code == 0, result.output
    assert set(ProjectData(spec).reviews.all_reviews()["reviewer"]) == {"erin"}
    decisions = Ledger.for_project(spec).events(event=REVIEW_DECISION)
    assert {e.actor for e in decisions} == {"erin"}
    bad = _csv(tmp_path / "bad.csv", [("c3", "card_fraud", "\u0435rin")])
    refused = CliRunner().invoke(
        app, ["review", "import", project, str(bad), "--encoder", "hashing"]
    )
    assert refused.exit_code == 2 and "looks like identity 'erin'" in refused.output


@pytest.mark.parametrize(
    ("reviewer", "reason"),
    [
        ("\u0435rin", "looks like identity 'erin'"),
        ('=HYPERLINK("http://evil")', "formula prefix"),
        ("erin\r\nalice", "control character"),
        ("x" * 250, "more than 64"),
        ("mallory", "not in the identities file"),
    ],
)
def test_a_file_with_a_bad_reviewer_is_refused_whole_naming_the_row(
    spec: ProjectSpec, tmp_path: Path, reviewer: str, reason: str
) -> None:
    path = _csv(
        tmp_path / "r.csv", [("a1", "card_fraud", "alice"), ("b2", "loan_inquiry", reviewer)]
    )
    data = ProjectData(spec)
    with pytest.raises(ReviewFileError) as caught:
        data.import_review_file(path)
    ((row, why),) = caught.value.bad_rows
    assert row == 3 and reason in why  # CSV line 3: the second data row
    assert data.reviews.all_reviews().empty  # nothing stored


def test_label_studio_id_not_listed_is_refused(spec: ProjectSpec, tmp_path: Path) -> None:
    with pytest.raises(ReviewFileError, match="'8' is not in the identities file"):
        ProjectData(spec).import_review_file(_label_studio(tmp_path / "ls.json", 8))


# --- the identities file in force ----------------------------------------------------------


def test_identities_are_pinned_and_changes_need_a_steward(
    spec: ProjectSpec, identities_file: Path
) -> None:
    ledger = Ledger.for_project(spec)
    version = publish_label_set(spec, _accepted_auto()).label_set.version
    assert current_pin(ledger) is None
    original_sha = load_identities_file(identities_file).sha256
    ProjectData(spec).import_review_file(
        _csv(spec.project_dir / "r.csv", [("a1", "card_fraud", "alice")])
    )  # first use: the file in force is pinned
    (pin,) = ledger.events(event=IDENTITIES_PINNED)
    assert pin.payload["sha256"] == original_sha
    assert {r["name"] for r in pin.payload["identities"]} == {"alice", "dana", "erin"}

    # mallory edits the file to make herself a steward: it is not the file in force
    mallory_key = generate_key()
    identities_file.write_text(
        IDENTITIES_YAML
        + "  - {name: mallory, roles: [steward], "
        + f'public_key: "{public_key_line(mallory_key)}"}}\n',
        encoding="utf-8",
    )
    with pytest.raises(ApprovalRefused, match=r"is not the one project .* has in force"):
        decide(spec, version, actor="mallory")
    with pytest.raises(ApprovalRefused, match=r"is not the one project .* has in force"):
        decide(spec, version, actor="dana")  # no decision at all under another file
    with pytest.raises(IdentityError, match="has in force"):  # nor a review import
        ProjectData(spec).import_review_file(
            _csv(spec.project_dir / "r2.csv", [("b2", "loan_inquiry", "mallory")])
        )
    project = str(spec.spec_path)
    refused = CliRunner().invoke(app, ["identities", "accept", project, "--as", "mallory"])
    assert refused.exit_code == 2 and "not a steward of the identities in force" in refused.output
    accepted = CliRunner().invoke(app, ["identities", "accept", project, "--as", "Dana"])
    assert accepted.exit_code == 0, accepted.output
    (change,) = ledger.events(event=IDENTITIES_ACCEPTED)
    assert change.actor == "dana" and change.payload["previous_sha256"] == original_sha
    result = decide(spec, version, actor="mallory", key=mallory_key)
    assert result.label_set.status == "approved"
    (approved,) = ledger.events(event=LABEL_SET_APPROVED)
    assert approved.payload["identities_sha256"] == change.payload["sha256"] != original_sha


def _accepted_auto() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ITEMS,
            "label": CLASSES_USED,
            "source": "auto",
            "confidence": 0.97,
            "labeler_versions": '{"rules": "rules-1"}',
            "reviewer": None,
            "run_id": "run-a",
        }
    )


def test_an_unsafe_actor_is_refused_and_logged_escaped(spec: ProjectSpec) -> None:
    version = publish_label_set(spec, _accepted_auto()).label_set.version
    for actor in ('=HYPERLINK("x")', "dana\n", "d" * 250):
        with pytest.raises(ApprovalRefused):
            decide(spec, version, actor=actor)
    logged = [e.actor or "" for e in Ledger.for_project(spec).events(event=APPROVAL_REFUSED)]
    assert len(logged) == 3 and all(len(a) <= 64 and "\n" not in a for a in logged)
    assert not any(a.startswith("=") for a in logged)


@pytest.mark.parametrize("stored", ["ERIN", "\u0435rin", "erin@bank.example", "7"])
def test_four_eyes_compares_identities_for_names_stored_before_issue_12(
    spec: ProjectSpec, stored: str
) -> None:
    """Reviews stored as written by an older labelgate still count as erin's."""
    frame = _accepted_auto().assign(
        source=["human", "auto", "auto", "auto"],
        reviewer=[stored, None, None, None],
    )
    reviews = frame.iloc[:1].assign(
        purpose="calibration",
        reviewed_at="2026-01-01T00:00:00+00:00",
        review_file="/old/round1.csv",
        review_file_sha256="e" * 64,
    )[REVIEWED_COLUMNS]
    record_reviews(Ledger.for_project(spec), reviews, run_id="old-import")
    version = publish_label_set(spec, frame).label_set.version
    with pytest.raises(ApprovalRefused, match=r"erin reviewed 1 item\(s\)"):
        decide(spec, version, actor="erin")


def test_only_a_steward_can_pin_the_first_identities_file(spec: ProjectSpec) -> None:
    ledger = Ledger.for_project(spec)
    project = str(spec.spec_path)
    refused = CliRunner().invoke(app, ["identities", "accept", project, "--as", "alice"])
    assert refused.exit_code == 2 and "'alice' is not a steward" in refused.output
    assert current_pin(ledger) is None
    accepted = CliRunner().invoke(app, ["identities", "accept", project, "--as", "DANA"])
    assert accepted.exit_code == 0, accepted.output
    (pin,) = ledger.events(event=IDENTITIES_PINNED)
    assert pin.actor == "dana"
