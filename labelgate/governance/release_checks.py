"""What the blocking release checks test: a label set is approved and intact; an exported
file holds no PII."""

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from labelgate.governance.verify import label_set_problems
from labelgate.label_sets import LabelSetError, LabelSetStore
from labelgate.ledger import Ledger
from labelgate.ledger.events import LABEL_SET_CREATED
from labelgate.pii import RedactionReport, scan_texts

if TYPE_CHECKING:
    from labelgate.spec import ProjectSpec


def approval_problems(spec: "ProjectSpec", version: int | None) -> list[str]:
    """Why label set ``version`` may not be used for a release or for training ([] if ok)."""
    if version is None or version <= 0:
        return ["no label-set version recorded on the materialization"]
    ledger = Ledger.for_project(spec)
    try:
        label_set = LabelSetStore(spec, ledger).get(int(version))
    except LabelSetError as exc:
        return [str(exc)]
    problems = []
    if label_set.status != "approved":
        problems.append(f"label set v{version} is {label_set.status}, not approved")
    created = [e for e in ledger.events(event=LABEL_SET_CREATED) if e.payload["version"] == version]
    problems.extend(label_set_problems(label_set.directory, created[0]))
    return problems


def exported_texts(path: Path) -> pd.Series:
    """The text column of an export file (CSV, Parquet or Label Studio JSON)."""
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)["text"]
    if path.suffix == ".parquet":
        return pd.read_parquet(path, columns=["text"])["text"]
    tasks = json.loads(path.read_text(encoding="utf-8"))
    return pd.Series([task["data"].get("text", "") for task in tasks], dtype=object)


def export_pii(path: Path) -> RedactionReport:
    return scan_texts(exported_texts(path))
