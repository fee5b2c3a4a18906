"""Export accepted labels (with their text) as CSV, Parquet or Label Studio tasks."""

import json
from pathlib import Path
from typing import Literal

import pandas as pd

from labelgate.storage import atomic_path

ExportFormat = Literal["csv", "parquet", "labelstudio"]
EXPORT_COLUMNS = ["item_id", "text", "label", "source", "confidence", "reviewer", "run_id"]


def export_frame(accepted: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    return accepted.merge(items[["item_id", "text"]], on="item_id", how="left")[EXPORT_COLUMNS]


def _label_studio_tasks(frame: pd.DataFrame) -> list[dict]:
    tasks = []
    for row in frame.itertuples(index=False):
        result = [
            {
                "from_name": "label",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": [row.label]},
            }
        ]
        task: dict = {"data": {"item_id": row.item_id, "text": row.text}}
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
            frame.to_csv(tmp, index=False)
        elif fmt == "parquet":
            frame.to_parquet(tmp, index=False)
        else:
            tmp.write_text(
                json.dumps(_label_studio_tasks(frame), ensure_ascii=False, indent=1),
                encoding="utf-8",
            )
    return target
