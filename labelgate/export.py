"""Export labels (with their text) as CSV, Parquet or Label Studio tasks.

Two selections: the accepted labels (``export_frame``), or every item with its proposed
label and a ``status`` (``all_items_frame``): ``accepted`` (in accepted_labels), ``queued``
(waiting in the review queue) or ``pending`` (neither: the gate did not let its label
through and it is not queued yet). Every row carries the user's own id (``source_id``, from
``source.id_column``) beside labelgate's content-hash ``item_id``. CSV files are written with
formula cells defused (``labelgate.csv_safety``).
"""

import json
from pathlib import Path
from typing import Literal

import pandas as pd

from labelgate.csv_safety import write_csv
from labelgate.storage import atomic_path

ExportFormat = Literal["csv", "parquet", "labelstudio"]
EXPORT_COLUMNS = [
    "item_id",
    "source_id",
    "text",
    "label",
    "source",
    "confidence",
    "reviewer",
    "run_id",
]
ALL_ITEMS_COLUMNS = [*EXPORT_COLUMNS[:4], "status", *EXPORT_COLUMNS[4:]]
STATUSES = ("accepted", "queued", "pending")


def _item_columns(items: pd.DataFrame) -> pd.DataFrame:
    frame = items.drop_duplicates("item_id")
    if "source_id" not in frame.columns:
        frame = frame.assign(source_id=None)
    return frame[["item_id", "source_id", "text"]]


def export_frame(accepted: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Accepted labels joined to their items' ``source_id`` and ``text``."""
    return accepted.merge(_item_columns(items), on="item_id", how="left")[EXPORT_COLUMNS]


def all_items_frame(
    accepted: pd.DataFrame,
    auto_labels: pd.DataFrame,
    items: pd.DataFrame,
    queued: set[str],
) -> pd.DataFrame:
    """One row per item: its accepted label, else the label model's proposal (``source``
    ``auto``, no reviewer), and its ``status``. Items no labeler has labeled yet have an
    empty label. Rows are in ``item_id`` order."""
    base = _item_columns(items)
    taken = accepted.drop_duplicates("item_id", keep="last").assign(status="accepted")
    proposed = (
        auto_labels.drop_duplicates("item_id", keep="last")
        .loc[lambda f: ~f["item_id"].isin(taken["item_id"]), ["item_id", "label", "confidence"]]
        .assign(source="auto", reviewer=None, run_id=None)
    )
    labels = pd.concat(
        [taken[[c for c in ALL_ITEMS_COLUMNS if c in taken.columns]], proposed],
        ignore_index=True,
    )
    frame = base.merge(labels.drop(columns=["source_id", "text"], errors="ignore"), on="item_id",
                       how="left")  # fmt: skip
    is_queued = frame["item_id"].isin(queued)
    frame["status"] = frame["status"].where(
        frame["status"].notna(), is_queued.map({True: "queued", False: "pending"})
    )
    frame = frame.astype({"confidence": "float64"})
    return frame.sort_values("item_id", kind="stable").reset_index(drop=True)[ALL_ITEMS_COLUMNS]


def _label_studio_tasks(frame: pd.DataFrame) -> list[dict]:
    tasks = []
    for row in frame.itertuples(index=False):
        data: dict = {"item_id": row.item_id, "text": row.text}
        if isinstance(row.source_id, str):
            data["source_id"] = row.source_id
        if isinstance(getattr(row, "status", None), str):
            data["status"] = row.status
        task: dict = {"data": data}
        if not isinstance(row.label, str):
            tasks.append(task)  # nothing proposed yet
            continue
        result = [
            {
                "from_name": "label",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": [row.label]},
            }
        ]
        if row.source == "human":
            task["annotations"] = [{"result": result, "completed_by": {"email": row.reviewer}}]
        else:
            task["predictions"] = [
                {
                    "result": result,
                    "score": float(row.confidence),
                    "model_version": "labelgate-auto",
                }
            ]
        tasks.append(task)
    return tasks


def write_export(frame: pd.DataFrame, out_dir: Path, fmt: ExportFormat, name: str) -> Path:
    """Write atomically to ``out_dir/{name}.{ext}``; returns the path."""
    suffix = {"csv": "csv", "parquet": "parquet", "labelstudio": "json"}[fmt]
    target = Path(out_dir) / f"{name}.{suffix}"
    with atomic_path(target) as tmp:
        if fmt == "csv":
            write_csv(frame, tmp)
        elif fmt == "parquet":
            frame.to_parquet(tmp, index=False)
        else:
            tmp.write_text(
                json.dumps(_label_studio_tasks(frame), ensure_ascii=False, indent=1),
                encoding="utf-8",
            )
    return target
