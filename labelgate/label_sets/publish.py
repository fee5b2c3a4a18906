"""Publish accepted labels as a new label-set version, only when the content changed.

Crash safety: the folder is written under a staged name and fsynced, then the
``label_set_created`` row (with every file's SHA-256) commits in one locked ledger
transaction, then the folder is renamed into place. A crash before the commit leaves a
staged folder that is removed on the next open; a crash after it leaves one that
``LabelSetStore.recover`` renames into place. Either way the ledger and the files agree.
"""

import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from labelgate.ids import sha256_file
from labelgate.label_sets.content import class_counts, content_hash, holds_boxes, normalize_labels
from labelgate.label_sets.datasheet import render_datasheet
from labelgate.label_sets.store import (
    DATASHEET_FILE,
    LABELS_FILE,
    MANIFEST_FILE,
    SET_FILES,
    LabelSet,
    LabelSetStore,
    set_dir_name,
    staged_dir_name,
)
from labelgate.ledger import Ledger
from labelgate.ledger.events import LABEL_SET_CREATED
from labelgate.storage import fsync_dir

if TYPE_CHECKING:
    from labelgate.spec import ProjectSpec


@dataclass(frozen=True)
class PublishResult:
    label_set: LabelSet
    created: bool  # False: the content equals the latest version's, nothing was written


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _labeler_versions(labels: pd.DataFrame) -> dict[str, list[str]]:
    versions: dict[str, set[str]] = {}
    for text in labels["labeler_versions"].dropna().unique():
        for name, version in json.loads(text).items():
            versions.setdefault(name, set()).add(str(version))
    return {name: sorted(v) for name, v in sorted(versions.items())}


def build_manifest(
    spec: "ProjectSpec",
    labels: pd.DataFrame,
    *,
    version: int,
    run_id: str | None,
    provenance: dict[str, Any],
) -> dict[str, Any]:
    counts = class_counts(labels)
    project_file = spec.spec_path
    has_file = project_file is not None and project_file.is_file()
    return {
        "project": spec.name,
        "version": version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_id": run_id,
        "content_sha256": content_hash(labels),
        "rows": len(labels),
        "project_file": {
            "path": str(project_file) if project_file else None,
            "sha256": sha256_file(project_file) if has_file else None,
        },
        "labeler_versions": _labeler_versions(labels),
        "reviewers": sorted(labels["reviewer"].dropna().astype(str).unique().tolist()),
        "sources": {k: int(v) for k, v in labels["source"].value_counts().items()},
        "counts_per_class": {name: int(counts.get(name, 0)) for name in spec.class_names},
        **({"unit": "boxes"} if holds_boxes(labels) else {}),
        **provenance,
    }


def publish_label_set(
    spec: "ProjectSpec",
    accepted: pd.DataFrame,
    *,
    run_id: str | None = None,
    provenance: dict[str, Any] | None = None,
    ledger: Ledger | None = None,
) -> PublishResult:
    """Snapshot ``accepted`` (minus erased items) as the next version, unless unchanged.

    ``provenance`` goes into the manifest as is: ``gate`` (the threshold and its evidence),
    ``per_class_accuracy``, ``quality_checks``, anything else worth recording.
    """
    ledger = ledger or Ledger.for_project(spec)
    store = LabelSetStore(spec, ledger)
    store.recover()
    erased = ledger.erased_items()
    labels = normalize_labels(accepted)
    excluded = len(erased)  # erased on request: kept out of this and every later version
    labels = labels[~labels["item_id"].isin(erased)].reset_index(drop=True)
    digest = content_hash(labels)
    store.root.mkdir(parents=True, exist_ok=True)
    with ledger.transaction() as tx:
        created = {int(e.payload["version"]): e for e in tx.events(event=LABEL_SET_CREATED)}
        if created and created[max(created)].payload["content_sha256"] == digest:
            latest = max(created)
            unchanged = True
        else:
            latest, unchanged = max(created, default=0) + 1, False
            staged = store.root / staged_dir_name(latest)
            if staged.exists():
                shutil.rmtree(staged)
            staged.mkdir()
            manifest = build_manifest(
                spec,
                labels,
                version=latest,
                run_id=run_id,
                provenance={**(provenance or {}), "erased_excluded": excluded},
            )
            labels.to_parquet(staged / LABELS_FILE, index=False)
            (staged / MANIFEST_FILE).write_text(
                json.dumps(manifest, indent=1, sort_keys=True, default=str), encoding="utf-8"
            )
            (staged / DATASHEET_FILE).write_text(render_datasheet(manifest), encoding="utf-8")
            files = {}
            for name in SET_FILES:
                _fsync_file(staged / name)
                files[name] = sha256_file(staged / name)
            fsync_dir(staged)
            tx.append(
                LABEL_SET_CREATED,
                {
                    "version": latest,
                    "content_sha256": digest,
                    "rows": len(labels),
                    "files": files,
                    "counts_per_class": manifest["counts_per_class"],
                    "reviewers": manifest["reviewers"],
                },
                run_id=run_id,
            )
            tx.set_commit("label_set", set_dir_name(latest), files[MANIFEST_FILE], str(staged))
    if not unchanged:
        os.replace(store.root / staged_dir_name(latest), store.root / set_dir_name(latest))
        fsync_dir(store.root)
    return PublishResult(label_set=store.get(latest), created=not unchanged)
