"""The one place a project's model loop joins its definitions, for any modality.

Text projects with ``training:`` get ``pipelines.model_defs`` (relabel, train, churn, drift,
label-issue assets and their jobs, schedule and sensors); image detection projects with
``training:`` get the YOLO student assets and their train job. To give another modality a
model loop, add it here and nowhere else.
"""

from collections.abc import Sequence

import dagster as dg

from assets.common import ProjectAssets
from assets.image_models import build_image_model_assets
from assets.models import CHAMPION_MODEL, MODEL_EVALUATION, TRAINED_MODEL
from assets.relabel import churn_tables
from pipelines.jobs import ProjectJobs
from pipelines.model_defs import build_model_definitions
from quality.governance_checks import approved_label_set_check


def label_batch_extras(project: ProjectAssets) -> Sequence[str]:
    """Tables the model loop adds to every label_batch run (churn_report)."""
    return churn_tables(project.spec) if project.modality.name == "text" else ()


def build_model_loop(project: ProjectAssets, jobs: ProjectJobs) -> dg.Definitions:
    if project.spec.training is None:
        return dg.Definitions()
    if project.modality.name == "text":
        return dg.Definitions.merge(
            build_model_definitions(project, jobs),
            dg.Definitions(  # models train on approved label sets only
                asset_checks=[approved_label_set_check(project, project.key(TRAINED_MODEL))]
            ),
        )
    if project.modality.name == "image_detection":
        return _image_detection_loop(project)
    return dg.Definitions()


def _image_detection_loop(project: ProjectAssets) -> dg.Definitions:
    train = dg.define_asset_job(
        f"{project.name}__train_model",
        selection=project.selection(TRAINED_MODEL, MODEL_EVALUATION, CHAMPION_MODEL),
        description="Train a YOLO student on the latest approved label set, score it against "
        "the champion (or the teacher), promote it only if better.",
    )
    return dg.Definitions(assets=build_image_model_assets(project), jobs=[train])  # type: ignore[arg-type]
