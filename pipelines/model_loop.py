"""The one place a project's model loop joins its definitions, for any modality.

Projects with ``training:`` get ``pipelines.model_defs``: the student's assets (trained_model →
model_evaluation → champion_model, relabel, churn_report), its jobs, schedule and sensors,
the drift check and, where the modality has one, label_issues; whatever the modality's
:class:`labelgate.models.loop.ModelLoop` supports. A model trains on approved label sets only
(a blocking check on trained_model).
"""

from collections.abc import Sequence

import dagster as dg

from assets.common import ProjectAssets
from assets.models import TRAINED_MODEL
from assets.relabel import churn_tables
from labelgate.models.loops import model_loop
from pipelines.jobs import ProjectJobs
from pipelines.model_defs import build_model_definitions
from quality.governance_checks import approved_label_set_check


def label_batch_extras(project: ProjectAssets) -> Sequence[str]:
    """Tables the model loop adds to every label_batch run (churn_report, so the first
    re-label has labels to compare against)."""
    return churn_tables(project.spec)


def build_model_loop(project: ProjectAssets, jobs: ProjectJobs) -> dg.Definitions:
    if project.spec.training is None:
        return dg.Definitions()
    definitions = build_model_definitions(project, jobs)
    if model_loop(project.spec).student is None:
        return definitions
    return dg.Definitions.merge(
        definitions,
        dg.Definitions(  # models train on approved label sets only
            asset_checks=[approved_label_set_check(project, project.key(TRAINED_MODEL))]
        ),
    )
