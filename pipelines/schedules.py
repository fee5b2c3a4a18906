"""The nightly (or whatever the project file says) re-label with the champion.

Each tick plans the re-label in the domain: a batch gets a run only when some of its items
lack a vote of the current champion (new items, or items labeled by an older model). With
nothing changed the tick skips and no item is re-scored.
"""

import dagster as dg

from assets.common import ProjectAssets
from labelgate.models.relabel import RelabelPlan, relabel_plan
from pipelines.jobs import AssetJob


def relabel_requests(
    project: ProjectAssets, instance: dg.DagsterInstance, *, origin: str
) -> tuple[RelabelPlan, list[dg.RunRequest]]:
    """One run request per batch with items to (re-)score, keyed so a repeat is deduped."""
    plan = relabel_plan(project.spec)
    known = set(instance.get_dynamic_partitions(project.partitions.name or ""))
    requests = [
        dg.RunRequest(
            partition_key=b.batch,
            run_key=f"relabel:{plan.champion}:{b.batch}:{b.new}:{b.outdated}",
            tags={"labelgate/relabel": origin, "labelgate/champion": plan.champion or ""},
        )
        for b in plan.batches_to_run()
        if b.batch in known
    ]
    return plan, requests


def skip_reason(plan: RelabelPlan) -> str:
    if plan.champion is None:
        return "the project has no champion model yet; nothing to re-label with"
    return f"0 items to re-score: every item already carries a vote of {plan.champion}"


def build_relabel_schedule(project: ProjectAssets, relabel_job: AssetJob) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=f"{project.name}__relabel_schedule",
        cron_schedule=project.spec.training.relabel_cron,
        job=relabel_job,
        execution_timezone="UTC",
        description="Re-label batches whose items the current champion has not scored yet.",
    )
    def relabel_schedule(
        context: dg.ScheduleEvaluationContext,
    ) -> list[dg.RunRequest] | dg.SkipReason:
        plan, requests = relabel_requests(project, context.instance, origin="schedule")
        return requests or dg.SkipReason(skip_reason(plan))

    return relabel_schedule
