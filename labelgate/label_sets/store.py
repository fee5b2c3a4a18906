"""Versioned label sets on disk: ``{project_dir}/label_sets/v{n}/`` (labels.parquet,
manifest.json, datasheet.md), immutable once written. Which versions exist and their status
(draft, approved, rejected) come from the ledger, so a status cannot be edited on disk.
"""

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from labelgate.errors import LabelgateError
from labelgate.ids import sha256_file
from labelgate.ledger import Ledger, LedgerEvent
from labelgate.ledger.events import LABEL_SET_APPROVED, LABEL_SET_CREATED, LABEL_SET_REJECTED
from labelgate.storage import fsync_dir

if TYPE_CHECKING:
    from labelgate.spec import ProjectSpec

LABELS_FILE = "labels.parquet"
MANIFEST_FILE = "manifest.json"
DATASHEET_FILE = "datasheet.md"
SET_FILES = (LABELS_FILE, MANIFEST_FILE, DATASHEET_FILE)
STATUSES = ("draft", "approved", "rejected")


class LabelSetError(LabelgateError):
    """A label set is missing, or an operation on it is not allowed."""


@dataclass(frozen=True)
class LabelSet:
    version: int
    status: str  # "draft" | "approved" | "rejected"
    directory: Path
    manifest: dict[str, Any]

    @property
    def labels_path(self) -> Path:
        return self.directory / LABELS_FILE

    @property
    def datasheet_path(self) -> Path:
        return self.directory / DATASHEET_FILE

    @property
    def manifest_path(self) -> Path:
        return self.directory / MANIFEST_FILE

    def labels(self) -> pd.DataFrame:
        """Columns of accepted_labels: item_id, label, source, confidence, labeler_versions,
        reviewer, run_id (text is not stored; join it where needed)."""
        if not self.labels_path.is_file():
            raise LabelSetError(f"label set v{self.version}: {self.labels_path} is missing")
        return pd.read_parquet(self.labels_path)

    def item_ids(self) -> set[str]:
        return set(pd.read_parquet(self.labels_path, columns=["item_id"])["item_id"])


def set_dir_name(version: int) -> str:
    return f"v{version}"


def staged_dir_name(version: int) -> str:
    return f".v{version}.staged"


def status_by_version(events: list[LedgerEvent]) -> dict[int, str]:
    """Created versions are drafts until a decision event names them."""
    status: dict[int, str] = {}
    for event in events:
        version = int(event.payload["version"])
        if event.event == LABEL_SET_CREATED:
            status[version] = "draft"
        elif event.event == LABEL_SET_APPROVED and version in status:
            status[version] = "approved"
        elif event.event == LABEL_SET_REJECTED and version in status:
            status[version] = "rejected"
    return status


class LabelSetStore:
    """The label sets of one project, as recorded in its ledger."""

    def __init__(self, spec: "ProjectSpec", ledger: Ledger | None = None) -> None:
        self.spec = spec
        self.ledger = ledger or Ledger.for_project(spec)
        self.root = spec.project_dir / "label_sets"

    def _events(self) -> list[LedgerEvent]:
        return self.ledger.events(event=[LABEL_SET_CREATED, LABEL_SET_APPROVED, LABEL_SET_REJECTED])

    def created_events(self) -> dict[int, LedgerEvent]:
        return {int(e.payload["version"]): e for e in self.ledger.events(event=LABEL_SET_CREATED)}

    def _load(self, version: int, status: str) -> LabelSet:
        directory = self.root / set_dir_name(version)
        path = directory / MANIFEST_FILE
        manifest = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        return LabelSet(version=version, status=status, directory=directory, manifest=manifest)

    def versions(self) -> list[LabelSet]:
        """Every version, oldest first."""
        self.recover()
        statuses = status_by_version(self._events())
        return [self._load(v, s) for v, s in sorted(statuses.items())]

    def get(self, version: int) -> LabelSet:
        self.recover()
        statuses = status_by_version(self._events())
        if version not in statuses:
            known = ", ".join(f"v{v}" for v in sorted(statuses)) or "none yet"
            raise LabelSetError(
                f"project {self.spec.name} has no label set v{version} (versions: {known})"
            )
        return self._load(version, statuses[version])

    def latest(self, *, status: str | None = "approved") -> LabelSet | None:
        """The newest version with ``status`` (any status when None)."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES} or None, not {status!r}")
        matching = [s for s in self.versions() if status is None or s.status == status]
        return matching[-1] if matching else None

    def recover(self) -> list[int]:
        """Finish label sets whose ledger row committed but whose folder was not yet renamed
        into place (a crash between the two); remove staged folders never committed."""
        if not self.root.is_dir():
            return []
        staged = {p.name: p for p in self.root.glob(".v*.staged") if p.is_dir()}
        if not staged:
            return []
        created = self.created_events()
        finished = []
        for version, event in sorted(created.items()):
            path = staged.pop(staged_dir_name(version), None)
            target = self.root / set_dir_name(version)
            if path is None or target.exists():
                if path is not None:
                    shutil.rmtree(path)
                continue
            files = event.payload.get("files", {})
            if all(sha256_file(path / name) == sha for name, sha in files.items()):
                os.replace(path, target)
                finished.append(version)
        for path in staged.values():  # never committed: roll back
            shutil.rmtree(path)
        fsync_dir(self.root)
        return finished
