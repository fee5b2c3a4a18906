"""The model loop of one project, any modality (only for projects with a ``training:``
section): its assets, drift check, jobs, schedule and sensors.

With a student (text, image detection): trained_model → model_evaluation → champion_model,
churn_report, the relabel and train_model jobs, the re-label schedule and the champion,
approved-label-set and after-relabel sensors. Every such project, and image classification
(no student yet): the blocking drift check and, where the modality has one, label_issues.
"""

import dagster as dg

from assets.common import ProjectAssets
from assets.models import (
    CHAMPION_MODEL,
    MODEL_EVALUATION,
    TRAINED_MODEL,
    build_label_issues_asset,
    build_model_assets,
)
from assets.relabel import build_relabel_assets
from labelgate.models.active import CHURN_REPORT, LABEL_ISSUES
from labelgate.models.loop import Student
from labelgate.models.loops import model_loop
from labelgate.project import AUTO_LABELS, CANDIDATE_LABELS
from pipelines.jobs import ProjectJobs
from pipelines.model_sensors import (
    build_after_relabel_sensor,
    build_champion_sensor,
    build_label_set_sensor,
)
from pipelines.schedules import build_relabel_schedule
from quality.model_checks import build_drift_check


def _student_definitions(
    project: ProjectAssets, jobs: ProjectJobs, student: Student, issues: bool
) -> dg.Definitions:
    def selection(*names: str) -> dg.AssetSelection:
        return dg.AssetSelection.assets(*(project.key(n) for n in names))

    relabel_job = dg.define_asset_job(
        f"{project.name}__relabel",
        selection=selection(CANDIDATE_LABELS, AUTO_LABELS, CHURN_REPORT),
        description="Re-label one batch with the current champion (items it already scored "
        "come from its cache) and report the churn.",
    )
    trained = (TRAINED_MODEL, MODEL_EVALUATION, CHAMPION_MODEL)
    train_job = dg.define_asset_job(
        f"{project.name}__train_model",
        selection=selection(*trained, *([LABEL_ISSUES] if issues else [])),
        description="Train on the latest approved label set, evaluate against the champion, "
        "promote if better" + ("; flag suspected human label errors." if issues else "."),
    )
    return dg.Definitions(
        assets=[*build_model_assets(project, student), *build_relabel_assets(project, student)],
        jobs=[relabel_job, train_job],
        schedules=[build_relabel_schedule(project, relabel_job)],
        sensors=[
            build_champion_sensor(project, relabel_job),
            build_label_set_sensor(project, train_job),
            build_after_relabel_sensor(project, relabel_job, jobs.publish),
        ],
    )


def build_model_definitions(project: ProjectAssets, jobs: ProjectJobs) -> dg.Definitions:
    if project.spec.training is None:
        return dg.Definitions()
    loop = model_loop(project.spec)  # describes the graph; each run builds its own
    issues = loop.label_issues is not None
    checks = dg.Definitions(
        assets=[build_label_issues_asset(project)] if issues else [],
        asset_checks=[build_drift_check(project)],
    )
    if loop.student is None:
        if not issues:
            return checks
        label_issues_job = dg.define_asset_job(
            f"{project.name}__label_issues",
            selection=dg.AssetSelection.assets(project.key(LABEL_ISSUES)),
            description="Flag suspected human label errors (cleanlab).",
        )
        return dg.Definitions.merge(checks, dg.Definitions(jobs=[label_issues_job]))
    return dg.Definitions.merge(checks, _student_definitions(project, jobs, loop.student, issues))
