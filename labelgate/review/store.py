"""Append-only store of imported review files: ``{folder}/imported/{sha256}.parquet``.

Each imported file becomes one Parquet file named by the SHA-256 of the file's bytes, so
the same file cannot be imported twice and nothing already imported is ever rewritten.
The current decision for an item is its latest review.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Required, TypedDict, Unpack

import pandas as pd

from labelgate.errors import ReviewFileError
from labelgate.identities import ReviewerResolver, safe_name
from labelgate.ids import sha256_file
from labelgate.review.exchange import read_review_file
from labelgate.storage import atomic_path

REVIEWED_COLUMNS = [
    "item_id",
    "label",
    "reviewer",
    "purpose",
    "reviewed_at",
    "review_file",
    "review_file_sha256",
]
PURPOSES = ("calibration", "uncertain", "adhoc")


@dataclass(frozen=True)
class ImportResult:
    """What one import added: ``rows`` reviews, of which ``new_items`` were never reviewed
    before and ``changed_labels`` overrule an earlier review with a different label."""

    rows: int
    new_items: int
    changed_labels: int
    path: Path
    sha256: str


class ImportOptions(TypedDict, total=False):
    """The options of :meth:`ReviewStore.prepare` besides the file."""

    known_items: Required[set[str]]
    class_names: Required[list[str]]
    purposes: Required[dict[str, str]]
    imported_at: str | None
    reviewers: ReviewerResolver


def read_imported(imported_dir: Path, columns: list[str]) -> pd.DataFrame | None:
    """The ``columns`` of every review file imported into ``imported_dir``, oldest first: by
    ``reviewed_at``, then by import (file time, content hash, row); None while there are none."""
    paths = list(imported_dir.glob("*.parquet")) if imported_dir.is_dir() else []
    frames = []
    for path in paths:
        frame = pd.read_parquet(path).loc[:, columns]
        frames.append(frame.assign(_mtime=path.stat().st_mtime_ns, _row=range(len(frame))))
    if not frames:
        return None
    reviews = pd.concat(frames, ignore_index=True)
    reviews["_when"] = pd.to_datetime(reviews["reviewed_at"], utc=True, format="ISO8601")
    reviews = reviews.sort_values(["_when", "_mtime", "review_file_sha256", "_row"], kind="stable")
    return reviews.loc[:, columns].reset_index(drop=True)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=str) for c in REVIEWED_COLUMNS})


class ReviewStore:
    """Imported reviews of one project, kept under ``folder/imported/``."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.imported_dir = self.folder / "imported"

    def all_reviews(self) -> pd.DataFrame:
        """Every imported review, oldest first (by ``reviewed_at``, then import order)."""
        reviews = read_imported(self.imported_dir, REVIEWED_COLUMNS)
        return _empty() if reviews is None else reviews

    def reviewed_labels(self) -> pd.DataFrame:
        """The current decision per item: its latest review (``reviewed_labels`` table)."""
        reviews = self.all_reviews()
        latest = reviews.drop_duplicates("item_id", keep="last")
        return latest.reset_index(drop=True)

    def import_file(self, path: Path, **options: Unpack[ImportOptions]) -> ImportResult:
        """Validate and store a review file (see :meth:`prepare` for the options); refuse it
        whole if any row is bad or it was imported before."""
        prepared = self.prepare(path, **options)
        with atomic_path(prepared.path) as tmp:
            prepared.rows.to_parquet(tmp, index=False)
        return prepared.result

    def prepare(
        self,
        path: Path,
        *,
        known_items: set[str],
        class_names: list[str],
        purposes: dict[str, str],
        imported_at: str | None = None,
        reviewers: ReviewerResolver = safe_name,
    ) -> "PreparedImport":
        """Everything :meth:`import_file` checks and computes, with nothing written: the rows
        to store at ``path`` (see :mod:`labelgate.governance.review_import`). ``purposes`` maps
        queued item ids to their purpose; others are ``adhoc``. ``imported_at`` (ISO 8601,
        default now) becomes ``reviewed_at``; ``reviewers`` maps each reviewer to the identity
        name stored (refusing the file if one does not)."""
        path = Path(path)
        if not path.is_file():
            raise ReviewFileError(str(path), [("file", "does not exist or is not a file")])
        sha = sha256_file(path)
        target = self.imported_dir / f"{sha}.parquet"
        if target.is_file():
            earlier = pd.read_parquet(target, columns=["reviewed_at", "review_file"])
            when, name = earlier.iloc[0].tolist() if len(earlier) else ("?", "?")
            reason = f"file already imported on {when} (as {name})"
            raise ReviewFileError(str(path), [("file", reason)])
        when = imported_at or datetime.now(UTC).isoformat()
        datetime.fromisoformat(when)  # refuse a malformed timestamp before writing anything
        bad_purposes = sorted(set(purposes.values()) - set(PURPOSES))
        if bad_purposes:
            raise ValueError(f"unknown purpose(s) {bad_purposes}; expected one of {PURPOSES}")

        reviews = read_review_file(
            path, known_items=known_items, class_names=class_names, reviewers=reviewers
        )
        before = self.reviewed_labels().set_index("item_id")["label"]
        rows = reviews.assign(
            purpose=[purposes.get(i, "adhoc") for i in reviews["item_id"]],
            reviewed_at=when,
            review_file=str(path.resolve()),
            review_file_sha256=sha,
        ).astype(dict.fromkeys(REVIEWED_COLUMNS, str))
        items = rows.drop_duplicates("item_id")  # an item answered by two reviewers once
        previous = items["item_id"].map(before)
        result = ImportResult(
            rows=len(rows),
            new_items=int(previous.isna().sum()),
            changed_labels=int((previous.notna() & (previous != items["label"])).sum()),
            path=target,
            sha256=sha,
        )
        return PreparedImport(source=path, rows=rows.loc[:, REVIEWED_COLUMNS], result=result)


@dataclass(frozen=True)
class PreparedImport:
    """A validated review file, not yet stored: ``rows`` go to ``result.path``."""

    source: Path
    rows: pd.DataFrame
    result: ImportResult

    @property
    def path(self) -> Path:
        return self.result.path
