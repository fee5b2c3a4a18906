"""The ``{project}__trace_item`` job: an item's lineage (``labelgate trace``) in the UI.

The run's output carries the history as Markdown (``trace`` metadata); the item's text is
in it only when the project's PII policy is ``off``.
"""

import dagster as dg

from assets.common import ProjectAssets
from labelgate.errors import LabelgateError
from labelgate.governance.trace import trace_item
from labelgate.governance.trace_report import trace_markdown
from labelgate.project import ProjectData
from pipelines.governance_job import governance_job


class TraceConfig(dg.Config):
    """The item to trace: its id (16 hex characters, as shown in tables and reviews)."""

    item_id: str


def _item_text(project: ProjectAssets, item_id: str) -> str | None:
    if project.spec.governance.pii != "off" or project.spec.modality != "text":
        return None
    items = ProjectData(project.spec).items(["item_id", "text"])
    found = items.loc[items["item_id"] == item_id, "text"]
    return None if found.empty else str(found.iloc[0])


def trace_job(project: ProjectAssets) -> dg.JobDefinition:
    spec = project.spec

    @dg.op(name=f"{project.name}__item_trace")
    def item_trace(context: dg.OpExecutionContext, config: TraceConfig) -> dg.Output[None]:
        item_id = config.item_id.strip()
        try:
            trace = trace_item(spec, item_id)
        except LabelgateError as exc:
            raise dg.Failure(
                description=str(exc), metadata={"item_id": item_id}, allow_retries=False
            ) from None
        report = trace_markdown(spec, trace, text=_item_text(project, item_id))
        context.log.info(
            f"item {item_id}: {len(trace.events)} ledger rows, in {len(trace.label_sets)} "
            "label-set version(s); the trace is this step's output metadata"
        )
        return dg.Output(
            None,
            metadata={
                "item_id": item_id,
                "ledger_rows": len(trace.events),
                "label_sets": len(trace.label_sets),
                "erased": trace.erased,
                "trace": dg.MetadataValue.md(report),
            },
        )

    return governance_job(
        f"{project.name}__trace_item",
        item_trace,
        "Where did this label come from? The item's whole history from the "
        "ledger (config: item_id): source file and row, labelers and versions, reviews, gate "
        "decisions, label sets, models. Shown as the run's output metadata (Markdown).",
    )
