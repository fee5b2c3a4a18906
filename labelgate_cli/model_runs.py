"""Run the model loop's Dagster jobs in-process: train/evaluate/promote, and re-label.

The re-label does what the schedule and the champion sensor ask for: one run of the relabel
job per batch that has items the champion has not scored, then the publish job.
"""

from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from labelgate.errors import LabelgateError
from labelgate.models.active import CHURN_REPORT
from labelgate.models.loops import trains_student
from labelgate.models.relabel import RelabelPlan, relabel_plan
from labelgate.spec import ProjectSpec
from labelgate_cli.runner import _execute, project_definitions
from resources.encoder import TextEncoderResource


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    for event in result.get_asset_materialization_events():
        if event.asset_key.path[-1] == asset:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    return {}


def _need_training(spec: ProjectSpec) -> None:
    if spec.training is None:
        raise LabelgateError(
            f"project {spec.name} has no training: section; add one to train models"
        )
    if not trains_student(spec):
        raise LabelgateError(f"project {spec.name} ({spec.modality}) trains no models yet")


@dataclass(frozen=True)
class TrainingRun:
    run_id: str
    trained: dict[str, Any]
    evaluation: dict[str, Any]
    decision: dict[str, Any]
    label_issues: int


def run_training(
    spec: ProjectSpec, *, instance: dg.DagsterInstance, encoder: TextEncoderResource
) -> TrainingRun:
    """Train on the latest approved label set, evaluate, promote if better, flag issues."""
    _need_training(spec)
    defs = project_definitions(spec, encoder)
    result = _execute(defs, f"{spec.name}__train_model", instance)
    return TrainingRun(
        run_id=result.run_id,
        trained=_metadata(result, "trained_model"),
        evaluation=_metadata(result, "model_evaluation"),
        decision=_metadata(result, "champion_model"),
        label_issues=int(_metadata(result, "label_issues").get("dagster/row_count", 0)),
    )


@dataclass
class RelabelRun:
    plan: RelabelPlan
    churn: list[dict[str, Any]] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)

    @property
    def rescored(self) -> int:
        return sum(int(c.get("rescored", 0)) for c in self.churn)

    @property
    def flipped(self) -> int:
        return sum(int(c.get("flipped", 0)) for c in self.churn)

    @property
    def sent_to_review(self) -> int:
        return sum(int(c.get("sent_to_review", 0)) for c in self.churn)


def run_relabel(
    spec: ProjectSpec, *, instance: dg.DagsterInstance, encoder: TextEncoderResource
) -> RelabelRun:
    """Re-label the batches the champion has not fully scored, then gate again."""
    _need_training(spec)
    plan = relabel_plan(spec)
    outcome = RelabelRun(plan)
    batches = plan.batches_to_run()
    if not batches:
        return outcome
    defs = project_definitions(spec, encoder)
    for batch in batches:
        result = _execute(defs, f"{spec.name}__relabel", instance, partition_key=batch.batch)
        outcome.churn.append(_metadata(result, CHURN_REPORT))
        outcome.run_ids.append(result.run_id)
    outcome.run_ids.append(_execute(defs, f"{spec.name}__publish", instance).run_id)
    return outcome
