"""The model loop of one project (only for projects with a ``training:`` section): its
assets, drift check, jobs, schedule and sensors."""

import dagster as dg

from assets.common import ProjectAssets
from assets.models import CHAMPION_MODEL, MODEL_EVALUATION, TRAINED_MODEL, build_model_assets
from assets.relabel import build_relabel_assets
from labelgate.models.active import CHURN_REPORT, LABEL_ISSUES
from labelgate.project import AUTO_LABELS, CANDIDATE_LABELS
from pipelines.jobs import ProjectJobs
from pipelines.model_sensors import (
    build_after_relabel_sensor,
    build_champion_sensor,
    build_label_set_sensor,
)
from pipelines.schedules import build_relabel_schedule
from quality.model_checks import build_drift_check


def build_model_definitions(project: ProjectAssets, jobs: ProjectJobs) -> dg.Definitions:
    if project.spec.training is None:
        return dg.Definitions()

    def selection(*names: str) -> dg.AssetSelection:
        return dg.AssetSelection.assets(*(project.key(n) for n in names))

    relabel_job = dg.define_asset_job(
        f"{project.name}__relabel",
        selection=selection(CANDIDATE_LABELS, AUTO_LABELS, CHURN_REPORT),
        description="Re-label one batch with the current champion (items it already scored "
        "come from its cache) and report the churn.",
    )
    train_job = dg.define_asset_job(
        f"{project.name}__train_model",
        selection=selection(TRAINED_MODEL, MODEL_EVALUATION, CHAMPION_MODEL, LABEL_ISSUES),
        description="Train on the latest approved label set, evaluate against the champion, "
        "promote if better; flag suspected human label errors.",
    )
    return dg.Definitions(
        assets=[*build_model_assets(project), *build_relabel_assets(project)],
        asset_checks=[build_drift_check(project)],
        jobs=[relabel_job, train_job],
        schedules=[build_relabel_schedule(project, relabel_job)],
        sensors=[
            build_champion_sensor(project, relabel_job),
            build_label_set_sensor(project, train_job),
            build_after_relabel_sensor(project, relabel_job, jobs.publish),
        ],
    )
