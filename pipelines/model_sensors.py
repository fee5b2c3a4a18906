"""Sensors of the model loop: train when a label set is approved, re-label when a champion
is promoted, publish after a re-label."""

import dagster as dg

from assets.common import ProjectAssets
from assets.models import CHAMPION_MODEL
from labelgate.label_sets import LabelSetStore
from labelgate.models.registry import ModelRegistry
from pipelines.jobs import AssetJob
from pipelines.schedules import relabel_requests, skip_reason


def build_champion_sensor(project: ProjectAssets, relabel_job: AssetJob) -> dg.SensorDefinition:
    @dg.asset_sensor(
        name=f"{project.name}__champion_sensor",
        asset_key=project.key(CHAMPION_MODEL),
        job=relabel_job,
        minimum_interval_seconds=30,
        description="After champion_model is materialized: re-label every batch with items the "
        "(possibly new) champion has not scored.",
    )
    def champion_sensor(
        context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry
    ) -> list[dg.RunRequest] | dg.SkipReason:
        plan, requests = relabel_requests(project, context.instance, origin="champion_sensor")
        return requests or dg.SkipReason(skip_reason(plan))

    return champion_sensor


def build_label_set_sensor(project: ProjectAssets, train_job: AssetJob) -> dg.SensorDefinition:
    @dg.sensor(
        name=f"{project.name}__approved_label_set_sensor",
        job=train_job,
        minimum_interval_seconds=60,
        description="Trains, evaluates and (maybe) promotes a model when a label set is "
        "approved that no model was trained on yet.",
    )
    def approved_label_set_sensor(
        context: dg.SensorEvaluationContext,
    ) -> dg.RunRequest | dg.SkipReason:
        latest = LabelSetStore(project.spec).latest(status="approved")
        if latest is None:
            return dg.SkipReason("no approved label set yet")
        trained = {card.label_set_version for card in ModelRegistry(project.spec).list()}
        if latest.version in trained:
            return dg.SkipReason(f"a model was already trained on label set v{latest.version}")
        return dg.RunRequest(run_key=f"train:v{latest.version}")

    return approved_label_set_sensor


def build_after_relabel_sensor(
    project: ProjectAssets,
    relabel_job: AssetJob,
    publish_job: AssetJob,
) -> dg.SensorDefinition:
    @dg.run_status_sensor(
        name=f"{project.name}__after_relabel_sensor",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[relabel_job],
        request_job=publish_job,
        description="After a batch is re-labeled: gate again and refresh the review queue.",
    )
    def after_relabel(context: dg.RunStatusSensorContext) -> dg.RunRequest:
        return dg.RunRequest(run_key=f"publish:{context.dagster_run.run_id}")

    return after_relabel
