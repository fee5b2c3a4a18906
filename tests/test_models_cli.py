"""``labelgate models`` on a real (temporary) Dagster instance."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from labelgate.ledger import Ledger
from labelgate.ledger.events import LABEL_SET_APPROVED
from labelgate.models.registry import ModelRegistry
from labelgate.spec import load_project
from labelgate.synth import CorpusFiles, simulate_reviews
from labelgate_cli.app import app
from tests.conftest import write_project

HASHING = ["--encoder", "hashing"]


@pytest.fixture
def project_file(tmp_path: Path, corpus: CorpusFiles, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    return write_project(
        tmp_path,
        corpus.inbox,
        training={"method": "head", "min_eval_items": 5, "oof_folds": 3, "label_issue_folds": 3},
        review={"calibration_size": 150, "uncertain_size": 40},
        gate={"target_accuracy": 0.9},
    )


def invoke(*args: object, code: int = 0) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return " ".join(result.output.split())


def test_models_commands_train_promote_list_and_relabel(
    project_file: Path, tmp_path: Path, truth
) -> None:
    assert "has no trained models yet" in invoke("models", "list", project_file)
    assert "no champion yet" in invoke("models", "relabel", project_file, *HASHING)
    invoke("run", project_file, *HASHING)
    spec = load_project(project_file)
    answers = simulate_reviews(
        spec.review.folder / "queue" / "review_queue.csv", truth, tmp_path / "answers.csv"
    )
    assert len(answers)
    invoke("review", "import", project_file, tmp_path / "answers.csv", *HASHING)
    invoke("run", project_file, *HASHING)
    refused = invoke("models", "train", project_file, *HASHING, code=2)
    assert "no approved label set" in refused
    # A steward approves the newest label set (governance covers the four-eyes rule).
    from labelgate.label_sets import LabelSetStore

    latest = LabelSetStore(spec).latest(status=None)
    Ledger.for_project(spec).append(
        LABEL_SET_APPROVED,
        {"version": latest.version, "content_sha256": latest.manifest["content_sha256"]},
        actor="steward",
    )
    trained = invoke("models", "train", project_file, *HASHING)
    assert "promoted (no champion yet)" in trained
    listing = invoke("models", "list", project_file)
    assert f"v{latest.version}" in listing and "champion" in listing
    (card,) = ModelRegistry(spec).list()
    assert card.label_set_version == latest.version
    again = invoke("models", "promote", project_file, card.model_id, *HASHING)
    assert "already the champion" in again
    relabeled = invoke("models", "relabel", project_file, *HASHING)
    assert "items scored" in relabeled
    assert "0 items scored in 0 batch(es)" in invoke("models", "relabel", project_file, *HASHING)
    unknown = invoke("models", "promote", project_file, "v9-head-nope", *HASHING, code=2)
    assert "no model 'v9-head-nope'" in unknown
