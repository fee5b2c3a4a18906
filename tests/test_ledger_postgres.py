"""The ledger, label sets and four-eyes approval on the local PostgreSQL (a fresh database
per test, dropped afterwards)."""

from collections.abc import Iterator

import dagster as dg
import pytest
import sqlalchemy as sa

from labelgate.governance.approval import ApprovalRefused, decide
from labelgate.governance.recording import record_reviews
from labelgate.governance.verify import verify_project
from labelgate.label_sets import LabelSetStore, publish_label_set
from labelgate.ledger import Ledger, dispose_engines
from labelgate.ledger.events import APPROVAL_REFUSED
from labelgate.ledger.schema import events
from labelgate.spec import ProjectSpec
from labelgate_cli.runner import run_project
from resources.encoder import TextEncoderResource
from tests.conftest import ProjectFactory
from tests.signing_keys import demo_key
from tests.test_governance import assert_ledger_matches_labels
from tests.test_label_sets import IDENTITIES, LABELS, accepted, reviews_by
from tests.test_ledger import append_concurrently

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    yield postgres_url
    dispose_engines()  # close pooled connections before the database is dropped


def test_chain_concurrency_and_tampering_on_postgres(pg_url: str) -> None:
    ledger = Ledger(pg_url, "bank")
    assert ledger.engine.dialect.name == "postgresql"
    append_concurrently(pg_url, "bank", writers=4, rows=25)
    bulk = [("label_proposed", {"n": i}, f"x{i}", f"proposed:x{i}") for i in range(2000)]
    assert len(ledger.append_many(bulk)) == 2000 and ledger.append_many(bulk) == []
    result = ledger.verify()
    assert result.ok and result.rows == 2100
    with ledger.engine.connect() as connection, connection.begin():
        connection.execute(events.update().where(events.c.seq == 50).values(actor="mallory"))
    tampered = ledger.verify()
    assert not tampered.ok and tampered.first_bad is not None
    assert tampered.first_bad.startswith("row 50:")


def test_label_sets_and_approval_on_postgres(
    make_project: ProjectFactory, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec: ProjectSpec = make_project(
        governance={"identities": str(IDENTITIES), "ledger_url": pg_url}
    )
    ledger = Ledger.for_project(spec)
    assert ledger.engine.dialect.name == "postgresql"
    frame = accepted(LABELS, reviewers=["alice", None, "bob", None])
    record_reviews(ledger, reviews_by(frame), run_id="import")
    first = publish_label_set(spec, frame)
    assert first.created and not publish_label_set(spec, frame).created
    with pytest.raises(ApprovalRefused, match="four-eyes"):
        decide(spec, 1, actor="alice")
    assert [e.actor for e in ledger.events(event=APPROVAL_REFUSED)] == ["alice"]
    assert decide(spec, 1, actor="dana", key=demo_key("dana")).label_set.status == "approved"
    assert LabelSetStore(spec).latest().version == 1  # type: ignore[union-attr]
    assert verify_project(spec).ok
    with ledger.engine.connect() as connection:
        rows = connection.execute(sa.select(sa.func.count()).select_from(events)).scalar_one()
    assert rows == ledger.count() and rows > 0
    # The environment wins over the project file.
    monkeypatch.setenv("LABELGATE_LEDGER_URL", "sqlite:///" + str(spec.project_dir / "x.sqlite"))
    assert Ledger.for_project(spec).engine.dialect.name == "sqlite"


def test_pipeline_writes_its_ledger_to_postgres(
    make_project: ProjectFactory, pg_url: str, hashing_encoder: TextEncoderResource
) -> None:
    spec = make_project(governance={"identities": str(IDENTITIES), "ledger_url": pg_url})
    with dg.instance_for_test() as instance:
        run_project(spec, instance=instance, encoder=hashing_encoder)
    assert not (spec.project_dir / "ledger.sqlite").exists()
    assert verify_project(spec).ok
    assert_ledger_matches_labels(spec)
