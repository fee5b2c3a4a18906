"""churn_report: what changed when a batch was (re-)labeled, and why.

Runs after auto_labels in every labeling and re-labeling run of a batch. It compares the
batch's label state (auto-label and every source's vote and version) with the state the
previous run left, reports flips per class and the sources that caused them, sends flips of
human-reviewed labels to review, and records the re-label in the ledger. What a flip is
belongs to the project's student (a different class; for detection a box set that no longer
matches at IoU 0.5).
"""

import json
from typing import Any

import dagster as dg
import pandas as pd

from assets.common import ProjectAssets, present
from labelgate.models.active import CHURN_REPORT
from labelgate.models.churn import CHURN_COLUMNS
from labelgate.models.churn_run import ChurnStep, churn_step
from labelgate.models.loop import Student
from labelgate.models.loops import trains_student
from labelgate.project import AUTO_LABELS, CANDIDATE_LABELS, REVIEWED_LABELS
from labelgate.spec import ProjectSpec


def churn_tables(spec: ProjectSpec) -> tuple[str, ...]:
    """Tables a batch-labeling run also materializes: churn_report, once a student is on."""
    return (CHURN_REPORT,) if trains_student(spec) else ()


def _table(counts: dict[str, dict[str, int]]) -> str:
    rows = [f"| {c} | {v['lost']} | {v['gained']} |" for c, v in counts.items()]
    return "| class | flipped away | flipped to |\n|---|---|---|\n" + "\n".join(rows)


def _metadata(step: ChurnStep) -> dict[str, Any]:
    churn = step.churn
    summary = json.loads(json.dumps(churn.summary(), default=str))
    return {
        "dagster/row_count": churn.flipped,
        "items": churn.items,
        "new_items": churn.new_items,
        "rescored": churn.rescored,
        "flipped": churn.flipped,
        **present(churn_rate=churn.rate),
        "sent_to_review": churn.to_review,
        "champion": churn.champion or "none",
        "baseline": step.baseline,
        "flips_by_class": dg.MetadataValue.md(_table(churn.flips_by_class())),
        "transitions": dg.MetadataValue.json(churn.transitions()),
        "causes": dg.MetadataValue.json(churn.causes()),
        "summary": dg.MetadataValue.json(summary),
    }


def build_relabel_assets(project: ProjectAssets, student: Student) -> list[dg.AssetsDefinition]:
    data = project.data

    @dg.asset(
        name=CHURN_REPORT,
        key_prefix=[project.name],
        group_name=project.name,
        partitions_def=project.partitions,
        io_manager_key=project.io_manager_key,
        ins={
            "auto_labels": dg.AssetIn(key=project.key(AUTO_LABELS)),
            "reviewed_labels": dg.AssetIn(key=project.key(REVIEWED_LABELS)),
        },
        deps=[project.key(CANDIDATE_LABELS)],
        kinds={"pandas", "parquet"},
        description="Labels of the batch that flipped since its previous labeling run: per "
        "class, with the sources that caused each flip. Flips of human-reviewed labels go to "
        "the review queue, never silently into accepted_labels.",
    )
    def churn_report(
        context: dg.AssetExecutionContext,
        auto_labels: pd.DataFrame,
        reviewed_labels: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        batch = context.partition_key
        current = student.label_state(auto_labels, data.tables.read(CANDIDATE_LABELS, batch))
        step = churn_step(
            data, batch, current, reviewed_labels, kind=student.churn, run_id=context.run_id
        )
        return dg.Output(step.churn.flips[CHURN_COLUMNS], metadata=_metadata(step))

    return [churn_report]
