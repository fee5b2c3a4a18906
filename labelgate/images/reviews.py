"""Reviewed box sets: an append-only store of imported review files, like text reviews.

Each import (a Label Studio JSON export, a YOLO-txt folder or a COCO JSON file) becomes
``{folder}/imported/{sha256}.parquet``, named by the content hash of what was imported, so
the same answers cannot be imported twice and nothing imported is rewritten. The current
decision for an item is its latest review. Columns: ``item_id``, ``boxes``, ``reviewer``,
``purpose``, ``reviewed_at``, ``review_file``, ``review_file_sha256``.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pandas as pd

from labelgate.errors import ReviewFileError
from labelgate.identities import ReviewerResolver, safe_name
from labelgate.ids import sha256_file
from labelgate.images import exchange
from labelgate.review.store import read_imported
from labelgate.storage import atomic_path

BOX_REVIEW_COLUMNS = [
    "item_id",
    "boxes",
    "reviewer",
    "purpose",
    "reviewed_at",
    "review_file",
    "review_file_sha256",
]
PURPOSES = ("calibration", "uncertain", "adhoc", "gold")


@dataclass(frozen=True)
class BoxImportResult:
    rows: int
    new_items: int
    changed: int  # items whose latest box set differs from their earlier review
    path: Path
    sha256: str


def content_sha256(path: Path) -> str:
    """SHA-256 of a file, or of a folder's ``*.txt`` files (relative name and content)."""
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    digest = hashlib.sha256()
    for file in sorted(path.rglob("*.txt")):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(sha256_file(file).encode())
    return digest.hexdigest()


def read_box_answers(
    path: Path,
    *,
    items: pd.DataFrame,
    class_names: Sequence[str],
    reviewer: str | None = None,
    names: Sequence[str] | None = None,
    skip_unmatched: bool = False,
    reviewers: ReviewerResolver = safe_name,
) -> pd.DataFrame:
    """Dispatch on the kind of file: a folder is YOLO txt, a JSON list Label Studio, a JSON
    object COCO. ``reviewer`` names who made YOLO/COCO labels (they do not say); ``names``
    are YOLO class names by index; ``skip_unmatched`` ignores images that are not items;
    ``reviewers`` resolves each reviewer to the identity stored (or refuses the file)."""
    path = Path(path)
    known = set(items["item_id"].astype(str))
    stems = exchange.stems_to_items(items)
    if not path.is_dir() and not _is_coco(path):
        if not path.is_file():
            raise ReviewFileError(str(path), [("file", "does not exist")])
        return exchange.read_label_studio(
            path,
            known_items=known,
            class_names=class_names,
            stem_to_item=stems,
            reviewers=reviewers,
        )
    if not reviewer:  # YOLO, COCO: nobody named
        reason = "YOLO and COCO answers do not name their reviewer: pass it (labelgate review "
        raise ReviewFileError(str(path), [("reviewer", reason + "import --reviewer NAME)")])
    read = partial(exchange.read_yolo_folder, names=names) if path.is_dir() else exchange.read_coco
    return read(
        path,
        known_items=known,
        class_names=class_names,
        stem_to_item=stems,
        reviewer=reviewer,
        skip_unmatched=skip_unmatched,
        reviewers=reviewers,
    )


def _is_coco(path: Path) -> bool:
    """A JSON object (COCO) rather than a JSON list (a Label Studio export)."""
    if not path.is_file():
        return False
    head = path.read_bytes()[:4096].decode("utf-8-sig", errors="replace").lstrip()
    return head.startswith("{")


class BoxReviewStore:
    """Imported box reviews of one project, kept under ``folder/imported/``."""

    def __init__(self, folder: Path) -> None:
        self.imported_dir = Path(folder) / "imported"

    def has_import(self, sha256: str) -> bool:
        return (self.imported_dir / f"{sha256}.parquet").is_file()

    def all_reviews(self) -> pd.DataFrame:
        """Every imported review, oldest first (by ``reviewed_at``, then import order)."""
        reviews = read_imported(self.imported_dir, BOX_REVIEW_COLUMNS)
        if reviews is None:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in BOX_REVIEW_COLUMNS})
        return reviews

    def reviewed_labels(self) -> pd.DataFrame:
        """The latest review per item."""
        latest = self.all_reviews().drop_duplicates("item_id", keep="last")
        latest = latest.reset_index(drop=True)
        latest["boxes"] = latest["boxes"].map(lambda b: [dict(r) for r in b])
        return latest

    def import_answers(
        self,
        path: Path,
        answers: pd.DataFrame,
        *,
        purposes: dict[str, str],
        default_purpose: str = "adhoc",
        imported_at: str | None = None,
        sha256: str | None = None,
    ) -> BoxImportResult:
        """Store validated answers (``item_id, boxes, reviewer``) read from ``path``;
        ``sha256`` identifies the import (default: the content hash of ``path``)."""
        sha = sha256 or content_sha256(path)
        target = self.imported_dir / f"{sha}.parquet"
        if target.is_file():
            raise ReviewFileError(str(path), [("file", "these answers were already imported")])
        wanted = {*purposes.values(), default_purpose}
        if not wanted <= set(PURPOSES):
            raise ValueError(f"unknown purpose(s) {sorted(wanted - set(PURPOSES))}")
        when = imported_at or datetime.now(UTC).isoformat()
        before = {
            i: _key(b) for i, b in zip(*self._latest_columns(), strict=True)
        }  # item -> canonical boxes
        rows = answers.assign(
            purpose=[purposes.get(i, default_purpose) for i in answers["item_id"]],
            reviewed_at=when,
            review_file=str(Path(path).resolve()),
            review_file_sha256=sha,
        ).loc[:, BOX_REVIEW_COLUMNS]
        with atomic_path(target) as tmp:
            rows.to_parquet(tmp, index=False)
        previous = [before.get(i) for i in rows["item_id"]]
        now = [_key(b) for b in rows["boxes"]]
        return BoxImportResult(
            rows=len(rows),
            new_items=sum(p is None for p in previous),
            changed=sum(p is not None and p != n for p, n in zip(previous, now, strict=True)),
            path=target,
            sha256=sha,
        )

    def _latest_columns(self) -> tuple[list[str], list[object]]:
        latest = self.reviewed_labels()
        return latest["item_id"].tolist(), latest["boxes"].tolist()


def _key(boxes: object) -> tuple:
    return tuple(
        sorted(
            (str(b["label"]), *(round(float(b[k]), 4) for k in ("x1", "y1", "x2", "y2")))
            for b in boxes  # type: ignore[attr-defined]
        )
    )
