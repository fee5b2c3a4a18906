"""Verify a project: the ledger's chain, then every file the ledger vouches for.

Files: each label-set folder against the SHA-256 of its files in its ``label_set_created``
row (and the label content against the content hash), and each table or export file
against its commit marker. The first problem found is the one ``labelgate verify`` names.
"""

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from labelgate.ids import sha256_file
from labelgate.label_sets.content import content_hash
from labelgate.label_sets.store import LABELS_FILE, LabelSetStore, set_dir_name
from labelgate.ledger import Ledger, LedgerEvent, VerifyResult
from labelgate.ledger.events import LABEL_SET_CREATED

if TYPE_CHECKING:
    from labelgate.spec import ProjectSpec


def label_set_problems(directory: Path, created: LedgerEvent) -> list[str]:
    """What does not match between a label-set folder and its ``label_set_created`` row."""
    version = created.payload["version"]
    where = f"label set v{version} (ledger row {created.seq})"
    if not directory.is_dir():
        return [f"{where}: folder {directory} is missing"]
    problems = []
    for name, expected in created.payload.get("files", {}).items():
        path = directory / name
        if not path.is_file():
            problems.append(f"file {path}: missing, recorded in {where}")
        elif sha256_file(path) != expected:
            problems.append(f"file {path}: SHA-256 differs from {where} (modified)")
    labels_path = directory / LABELS_FILE
    if not problems and labels_path.is_file():
        try:
            digest = content_hash(pd.read_parquet(labels_path))
        except Exception as exc:  # an unreadable file is a finding, not a crash
            return [f"file {labels_path}: unreadable ({exc})"]
        if digest != created.payload["content_sha256"]:
            problems.append(f"file {labels_path}: label content differs from {where}")
    return problems


def verify_project(spec: "ProjectSpec", ledger: Ledger | None = None) -> VerifyResult:
    ledger = ledger or Ledger.for_project(spec)
    chain = ledger.verify()
    problems = list(chain.problems)
    store = LabelSetStore(spec, ledger)
    store.recover()
    for event in ledger.events(event=LABEL_SET_CREATED):
        directory = store.root / set_dir_name(int(event.payload["version"]))
        problems.extend(label_set_problems(directory, event))
    for commit in ledger.commits():
        if commit.kind == "label_set":
            continue  # checked above, file by file
        path = Path(commit.path)
        if not path.is_file():
            problems.append(f"file {path}: missing, committed at ledger row {commit.seq}")
        elif sha256_file(path) != commit.sha256:
            problems.append(
                f"file {path}: SHA-256 differs from its commit at ledger row {commit.seq}"
            )
    return VerifyResult(
        ok=not problems,
        rows=chain.rows,
        head=chain.head,
        first_bad=problems[0] if problems else None,
        problems=problems,
    )
