"""Two full rounds of the model loop through the real Dagster jobs, schedule and sensors.

Round 1 labels the demo corpus with rules + embeddings, simulated reviewers answer the queue,
and the accepted labels are approved as label set v1. Round 2 distills v1 into a model,
promotes it (no champion yet), re-labels with it and gates again at the same target; then a
second model trained on v2 must beat the first by the margin to replace it. The hashing
encoder keeps it fast; the real MiniLM is covered in test_models_finetune.py.
"""

from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from labelgate.label_sets import publish_label_set
from labelgate.ledger import Ledger
from labelgate.ledger.events import (
    LABEL_SET_APPROVED,
    MODEL_NOT_PROMOTED,
    MODEL_PROMOTED,
    MODEL_TRAINED,
    RELABEL_DONE,
)
from labelgate.models.active import doubt_scores, pending_rechecks
from labelgate.models.labeler import CHAMPION_LABELER
from labelgate.models.registry import ModelRegistry
from labelgate.models.relabel import relabel_plan
from labelgate.project import ACCEPTED_LABELS, CANDIDATE_LABELS, REVIEW_QUEUE, ProjectData
from labelgate.spec import ProjectSpec, load_project
from labelgate.synth import simulate_reviews, write_corpus
from labelgate.synth.evaluate import realized, truth_by_item
from labelgate_cli.runner import import_reviews, run_project
from pipelines.definitions import build_definitions
from resources.encoder import TextEncoderResource
from tests.conftest import write_project

TRAINING = {
    "method": "head",
    "eval_fraction": 0.25,
    "min_eval_items": 20,
    "oof_folds": 3,
    "promotion_margin": 0.005,
    "relabel_cron": "0 3 * * *",
    "label_issue_folds": 3,
}
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def approve(spec: ProjectSpec, accepted: pd.DataFrame | None = None) -> int:
    """Snapshot accepted_labels (or ``accepted``) as a label set and record its approval (a
    steward's act in production; governance tests cover the four-eyes rule)."""
    if accepted is None:
        accepted = ProjectData(spec).tables.read(ACCEPTED_LABELS)
    label_set = publish_label_set(spec, accepted).label_set
    Ledger.for_project(spec).append(
        LABEL_SET_APPROVED,
        {"version": label_set.version, "content_sha256": label_set.manifest["content_sha256"]},
        actor="steward",
    )
    return label_set.version


class Loop:
    def __init__(self, spec: ProjectSpec, instance: dg.DagsterInstance, truth: pd.DataFrame):
        self.spec = spec
        self.instance = instance
        self.encoder = TextEncoderResource(kind="hashing")
        self.defs = build_definitions([spec], encoder=self.encoder)
        self.data = ProjectData(spec)
        self.truth = truth
        self.round = 0

    def job(self, name: str, **kwargs: Any) -> dg.ExecuteInProcessResult:
        job = self.defs.resolve_job_def(f"{self.spec.name}__{name}")
        return job.execute_in_process(instance=self.instance, run_config=QUIET, **kwargs)

    def label_and_publish(self) -> None:
        run_project(self.spec, instance=self.instance, encoder=self.encoder)

    def review_queue(self) -> int:
        self.round += 1
        answers = self.spec.review.folder / "answers" / f"round_{self.round}.csv"
        queue = self.data.queue_dir / "review_queue.csv"
        reviews = simulate_reviews(queue, self.truth, answers, error_rate=0.02, seed=self.round)
        import_reviews(self.spec, [str(answers)], instance=self.instance, encoder=self.encoder)
        return len(reviews)

    def automation(self) -> tuple[float, float | None]:
        accepted = self.data.tables.read(ACCEPTED_LABELS)
        items = len(self.data.items(["item_id"]))
        result = realized(accepted, truth_by_item(self.truth), items=items)
        return result.automation_rate, result.auto_accuracy

    def run_requests(self, result: Any) -> list[dg.RunRequest]:
        return list(result.run_requests or [])

    def schedule_tick(self) -> Any:
        schedule = self.defs.resolve_schedule_def(f"{self.spec.name}__relabel_schedule")
        with dg.partition_loading_context(dynamic_partitions_store=self.instance):
            return schedule.evaluate_tick(dg.build_schedule_context(instance=self.instance))

    def sensor_tick(self, name: str) -> Any:
        sensor = self.defs.resolve_sensor_def(f"{self.spec.name}__{name}")
        context = dg.build_sensor_context(instance=self.instance, definitions=self.defs)
        with dg.partition_loading_context(dynamic_partitions_store=self.instance):
            return sensor.evaluate_tick(context)

    def run_relabel(self, requests: list[dg.RunRequest]) -> list[dg.ExecuteInProcessResult]:
        job = self.defs.resolve_job_def(f"{self.spec.name}__relabel")
        results = []
        for request in requests:
            assert dg.validate_run_config(job, request.run_config)
            results.append(
                job.execute_in_process(
                    instance=self.instance,
                    partition_key=request.partition_key,
                    tags=request.tags,
                    run_config=QUIET,
                )
            )
        if results:
            self.job("publish")
        return results


def materialization(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    (event,) = [
        e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == asset
    ]
    return {k: v.value for k, v in event.materialization.metadata.items()}


@pytest.fixture
def loop(tmp_path: Path, instance: dg.DagsterInstance) -> Loop:
    corpus = write_corpus(tmp_path / "corpus", n=1500, n_batches=2, seed=11)
    spec = load_project(
        write_project(
            tmp_path,
            corpus.inbox,
            training=TRAINING,
            review={"calibration_size": 400, "uncertain_size": 60},
        )
    )
    truth = pd.read_csv(corpus.truth_csv, dtype=str, keep_default_na=False)
    return Loop(spec, instance, truth)


def test_two_rounds_distill_promote_relabel_and_automate_more(loop: Loop) -> None:
    spec, ledger = loop.spec, Ledger.for_project(loop.spec)

    # Round 1: rules + embeddings, one review round, gate; approve the accepted labels.
    loop.label_and_publish()
    loop.review_queue()
    loop.label_and_publish()  # few-shot heads learn from the reviews
    rate_1, accuracy_1 = loop.automation()
    version_1 = approve(spec)

    # No champion yet: the schedule has nothing to re-label with.
    assert loop.schedule_tick().skip_message.startswith("the project has no champion")

    # The approval is seen by the training sensor, which asks for one training run.
    (request,) = loop.run_requests(loop.sensor_tick("approved_label_set_sensor"))
    assert request.run_key == f"train:v{version_1}"

    # Round 2: distill label set v1, evaluate, promote (no champion to beat).
    trained = loop.job("train_model")
    assert "already trained" in loop.sensor_tick("approved_label_set_sensor").skip_message
    card_1 = materialization(trained, "trained_model")
    assert card_1["label_set_version"] == version_1 and card_1["newly_trained"]
    registry = ModelRegistry(spec)
    champion = registry.champion()
    assert champion is not None and champion.model_id == card_1["model_id"]
    assert champion.label_set_version == version_1
    train_items = set(registry.train_items(champion.model_id)["item_id"])
    evaluation = loop.job("train_model")  # same label set: no retraining, same model
    assert not materialization(evaluation, "trained_model")["newly_trained"]
    assert [e.payload["model_id"] for e in ledger.events(event=MODEL_TRAINED)] == [
        champion.model_id
    ]
    (promoted,) = ledger.events(event=MODEL_PROMOTED)
    assert promoted.payload["challenger"] == champion.model_id
    assert promoted.payload["reason"] == "no champion yet"
    # The evaluation split is human-reviewed and never trained on.
    eval_ids = set(
        pd.read_parquet(loop.data.tables.path("model_evaluation"))["model_id"]
    )  # one row per scored model
    assert eval_ids == {champion.model_id}
    assert champion.n_eval >= TRAINING["min_eval_items"]

    # The champion sensor sees the promotion and asks to re-label every batch.
    requests = loop.run_requests(loop.sensor_tick("champion_sensor"))
    batches = loop.data.tables.partitions("raw_items")
    assert sorted(r.partition_key for r in requests) == batches
    relabeled = loop.run_relabel(requests)
    rescored = sum(materialization(r, "churn_report")["rescored"] for r in relabeled)
    assert rescored == len(loop.data.items(["item_id"]))
    candidates = loop.data.tables.read_all(CANDIDATE_LABELS)
    votes = candidates[candidates["labeler"] == CHAMPION_LABELER]
    assert set(votes["labeler_version"]) == {champion.model_id}
    # Items the champion trained on carry out-of-fold votes (the gate never sees in-sample).
    trained_votes = votes[votes["item_id"].isin(train_items)]
    assert len(trained_votes) and trained_votes["out_of_fold"].all()
    rate_2, accuracy_2 = loop.automation()
    print(f"automation round 1: {rate_1:.3f} (accuracy {accuracy_1}), "
          f"round 2 with champion: {rate_2:.3f} (accuracy {accuracy_2})")  # fmt: skip
    assert rate_2 > rate_1
    assert accuracy_2 is not None and accuracy_2 >= spec.gate.target_accuracy - 0.02
    assert ledger.events(event=RELABEL_DONE)

    # Nothing changed: the schedule re-scores 0 items and launches nothing.
    assert relabel_plan(spec).to_score == 0
    tick = loop.schedule_tick()
    assert not tick.run_requests
    assert tick.skip_message.startswith("0 items to re-score")

    # The next queue prefers the champion's doubts; a new round of reviews, label set v2.
    queue = loop.data.tables.read(REVIEW_QUEUE)
    doubt = doubt_scores(
        loop.data.tables.read_all(CANDIDATE_LABELS), loop.data.auto_labels()
    ).set_index("item_id")["doubt"]
    reviewed = loop.data.reviewed()
    again = queue[queue["item_id"].isin(reviewed["item_id"])]  # human labels the champion flips
    assert set(again["item_id"]) == set(pending_rechecks(loop.data, reviewed)["item_id"])
    purposes = reviewed.set_index("item_id")["purpose"]
    assert (again["purpose"].to_numpy() == purposes.loc[again["item_id"]].to_numpy()).all()
    fresh = queue[~queue["item_id"].isin(reviewed["item_id"])]
    asked = fresh[fresh["purpose"] == "uncertain"]["item_id"]
    assert len(asked) == spec.review.uncertain_size
    assert doubt.loc[asked].is_monotonic_decreasing  # most doubtful first
    waiting = set(doubt.index) - set(queue["item_id"]) - set(reviewed["item_id"])
    assert doubt.loc[asked].min() >= doubt.loc[sorted(waiting)].max()
    loop.review_queue()
    loop.label_and_publish()
    version_2 = approve(spec)
    assert version_2 > version_1
    second = loop.job("train_model")
    card_2 = materialization(second, "trained_model")
    assert card_2["label_set_version"] == version_2
    evaluated = materialization(second, "model_evaluation")
    decided = materialization(second, "champion_model")
    margin = spec.training.promotion_margin
    better = evaluated["macro_f1"] >= evaluated["champion_macro_f1"] + margin
    assert decided["promoted"] == better
    expected_champion = card_2["model_id"] if better else champion.model_id
    assert registry.champion().model_id == expected_champion
    event = MODEL_PROMOTED if better else MODEL_NOT_PROMOTED
    decision = ledger.events(event=event)[-1].payload
    assert decision["challenger"] == card_2["model_id"]
    assert decision["champion"] == champion.model_id
    assert decision["champion_metrics"]["n"] == decision["challenger_metrics"]["n"]
    assert ledger.verify().ok


def test_schedule_and_sensors_are_defined_for_projects_with_training(loop: Loop) -> None:
    name = loop.spec.name
    schedule = loop.defs.resolve_schedule_def(f"{name}__relabel_schedule")
    assert schedule.cron_schedule == TRAINING["relabel_cron"]
    assert schedule.job_name == f"{name}__relabel"
    for sensor in ("champion_sensor", "approved_label_set_sensor", "after_relabel_sensor"):
        assert loop.defs.resolve_sensor_def(f"{name}__{sensor}") is not None
    # Without an approved label set the training sensor waits.
    tick = loop.sensor_tick("approved_label_set_sensor")
    assert not tick.run_requests and "no approved label set" in tick.skip_message
