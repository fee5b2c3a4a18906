"""Verify a project: the ledger's chain, then every file the ledger vouches for.

Files: each label-set folder against the SHA-256 of its files in its ``label_set_created``
row (and the label content against the content hash), and each table or export file
against its commit marker. The first problem found is the one ``labelgate verify`` names.

Commit markers and label-set folders also pin the chain's length: a marker written at row N,
or a label-set folder whose ``label_set_created`` row is gone, shows rows cut from the end
of the chain even when the head row was rewritten to match the shorter chain. Then the
governance state beside the chain (commit markers, the erasure list and erased items, the
signed anchors: ``state_checks``). A row whose payload is not JSON is named, never a crash.
"""

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from labelgate.governance.state_checks import anchor_problems, commit_problems, erasure_problems
from labelgate.governance.verify_signatures import decision_signature_problems
from labelgate.ids import sha256_file
from labelgate.label_sets.content import content_hash
from labelgate.label_sets.store import LABELS_FILE, LabelSetStore, set_dir_name
from labelgate.ledger import Ledger, LedgerError, LedgerEvent, VerifyResult
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


_SET_DIR = re.compile(r"^v(\d+)$")


def unrecorded_label_sets(root: Path, recorded: set[int]) -> list[str]:
    """Label-set folders on disk that no ``label_set_created`` row vouches for."""
    if not root.is_dir():
        return []
    found = sorted(
        int(m.group(1)) for p in root.iterdir() if p.is_dir() and (m := _SET_DIR.match(p.name))
    )
    return [
        f"label set v{v}: folder {root / set_dir_name(v)} has no label_set_created row in the "
        "ledger (the row was deleted, or the folder was added by hand)"
        for v in found
        if v not in recorded
    ]


def verify_project(spec: "ProjectSpec", ledger: Ledger | None = None) -> VerifyResult:
    ledger = ledger or Ledger.for_project(spec)
    chain = ledger.verify()
    problems = list(chain.problems)
    checks = (
        lambda: file_problems(spec, ledger, chain),
        lambda: commit_problems(ledger),
        lambda: erasure_problems(spec, ledger),
        lambda: anchor_problems(ledger),
    )
    for check in checks:
        try:
            problems.extend(check())
        except LedgerError as exc:  # a malformed row: name it and go on
            if str(exc) not in problems:
                problems.append(str(exc))
    return VerifyResult(
        ok=not problems,
        rows=chain.rows,
        head=chain.head,
        first_bad=problems[0] if problems else None,
        problems=problems,
    )


def file_problems(spec: "ProjectSpec", ledger: Ledger, chain: VerifyResult) -> list[str]:
    """Label-set folders and committed files against the rows and markers vouching for them."""
    problems: list[str] = []
    store = LabelSetStore(spec, ledger)
    store.recover()
    recorded = set()
    for event in ledger.events(event=LABEL_SET_CREATED):
        recorded.add(int(event.payload["version"]))
        directory = store.root / set_dir_name(int(event.payload["version"]))
        problems.extend(label_set_problems(directory, event))
    problems.extend(unrecorded_label_sets(store.root, recorded))
    problems.extend(decision_signature_problems(spec, ledger))
    for commit in ledger.commits():
        if commit.seq > chain.rows:
            problems.append(
                f"ledger: the commit of {commit.path} points at row {commit.seq}, past the last "
                f"row {chain.rows} (rows were deleted from the end of the chain)"
            )
        if commit.kind == "label_set":
            continue  # checked above, file by file
        path = Path(commit.path)
        if not path.is_file():
            problems.append(f"file {path}: missing, committed at ledger row {commit.seq}")
        elif sha256_file(path) != commit.sha256:
            problems.append(
                f"file {path}: SHA-256 differs from its commit at ledger row {commit.seq}"
            )
    return problems
