"""What ``labelgate export`` writes: a selection of the project's labels, through the
governed export (PII policy, erased items dropped, file and ledger row committed together)."""

from pathlib import Path
from typing import Literal

import pandas as pd

from labelgate.errors import LabelgateError
from labelgate.export import STATUSES, ExportFormat, all_items_frame, export_frame
from labelgate.governance.export import ExportResult, governed_export
from labelgate.ledger import Ledger
from labelgate.project import ACCEPTED_LABELS, RAW_ITEMS, REVIEW_QUEUE, ProjectData
from labelgate.spec import ProjectSpec

ExportStatus = Literal["accepted", "all", "queued", "pending"]


def _all_items(data: ProjectData) -> pd.DataFrame:
    tables = data.tables
    accepted = (
        tables.read(ACCEPTED_LABELS)
        if tables.exists(ACCEPTED_LABELS)
        else pd.DataFrame(columns=["item_id", "label", "source", "confidence", "reviewer"])
    )
    auto = data.auto_labels()
    if auto.empty:
        auto = pd.DataFrame(columns=["item_id", "label", "confidence"])
    queued = set(tables.read(REVIEW_QUEUE)["item_id"]) if tables.exists(REVIEW_QUEUE) else set()
    return all_items_frame(accepted, auto, data.items(), queued)


def export_selection(
    spec: ProjectSpec, status: ExportStatus, fmt: ExportFormat, out: Path | None
) -> tuple[ExportResult, dict[str, int]]:
    """Export the ``status`` selection; returns the result and the rows per status."""
    out_dir = out if out is not None else spec.project_dir / "exports"
    if spec.modality != "text":
        if status != "accepted":
            raise LabelgateError(
                f"project {spec.name} is an image project: only its accepted labels export "
                "as a table (--status accepted); review state is in `labelgate status`"
            )
        from labelgate_cli.image_commands import export_image_table

        result = export_image_table(spec, fmt, out_dir)
        return result, {"accepted": result.rows}
    data = ProjectData(spec)
    if status == "accepted":
        if not data.tables.exists(ACCEPTED_LABELS):
            raise LabelgateError(f"project {spec.name} has no accepted labels yet: run it first")
        frame = export_frame(data.tables.read(ACCEPTED_LABELS), data.items())
        name = f"{spec.name}_accepted_labels"
    else:
        if not data.tables.partitions(RAW_ITEMS):
            raise LabelgateError(f"project {spec.name} has no items yet: run it first")
        frame = _all_items(data)
        if status != "all":
            frame = frame[frame["status"] == status].reset_index(drop=True)
        name = f"{spec.name}_{'all_items' if status == 'all' else status + '_items'}"
    erased = Ledger.for_project(spec).erased_items()
    frame = frame[~frame["item_id"].isin(erased)].reset_index(drop=True)
    counts = (
        {s: int((frame["status"] == s).sum()) for s in STATUSES}
        if "status" in frame.columns
        else {"accepted": len(frame)}
    )
    extra = {"selection": status, "status_counts": counts}
    what = "export" if status == "accepted" else f"export of {status} items"
    result = governed_export(spec, frame, out_dir, fmt, name, what=what, extra=extra)
    return result, counts
