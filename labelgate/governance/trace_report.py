"""An item's trace (``labelgate trace``) as Markdown, for the Dagster UI.

The same history the CLI prints: source file and row, every label proposed (labeler,
version, probabilities), reviews, the gate decisions that admitted it with their run ids,
the label sets that hold it, and models. The item's text is shown only when the project's
``governance.pii`` is ``off``; otherwise the report holds ids, labels and numbers only, so
nothing personal reaches Dagster's run storage.
"""

from typing import TYPE_CHECKING

from labelgate.governance.trace import ItemTrace, describe

if TYPE_CHECKING:
    from labelgate.spec import ProjectSpec


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def trace_markdown(spec: "ProjectSpec", trace: ItemTrace, *, text: str | None = None) -> str:
    """Markdown of ``trace``; ``text`` is included only if the PII policy is ``off``."""
    erased = " (erased)" if trace.erased else ""
    lines = [f"# Item `{trace.item_id}` in project {spec.name}{erased}", ""]
    if spec.governance.pii == "off" and text is not None and not trace.erased:
        lines += [f"> {_cell(text)}", ""]
    else:
        lines += [
            f"_Item text not shown (governance.pii: {spec.governance.pii}); the ledger holds "
            "no text either._",
            "",
        ]
    lines += ["## History", "", "| row | at | event | by | what |", "|---|---|---|---|---|"]
    for event in trace.events:
        lines.append(
            f"| {event.seq} | {event.at[:19]} | {event.event} | {_cell(event.actor or '')} | "
            f"{_cell(describe(event))} |"
        )
    lines += ["", "## Gate decisions that admitted it", ""]
    if trace.thresholds:
        lines += [
            f"- row {e.seq}, run `{e.run_id}`: {_cell(describe(e))}" for e in trace.thresholds
        ]
    else:
        lines.append("- none (not auto-accepted)")
    lines += ["", "## Label sets", ""]
    if trace.label_sets:
        lines += ["| version | status | label | source | reviewer |", "|---|---|---|---|---|"]
        lines += [
            f"| v{e['version']} | {e['status']} | {_cell(e['label'])} | {e['source']} | "
            f"{_cell(e['reviewer'] or '')} |"
            for e in trace.label_sets
        ]
    else:
        lines.append("- in no label set")
    lines += ["", "## Models", ""]
    lines += [f"- row {e.seq}: {_cell(describe(e))}" for e in trace.models] or ["- none"]
    return "\n".join(lines) + "\n"
