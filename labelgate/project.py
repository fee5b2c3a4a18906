"""A project's data on disk: its tables, its review store and its reviewer-facing folders.

Used by the Dagster assets and the CLI alike, so both read and write the same files.
"""

from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from labelgate.review import ImportResult, ReviewStore
from labelgate.spec import ProjectSpec
from labelgate.storage import TableStore

RAW_ITEMS = "raw_items"
QUARANTINE = "quarantine"
CANDIDATE_LABELS = "candidate_labels"
AUTO_LABELS = "auto_labels"
REVIEW_QUEUE = "review_queue"
REVIEWED_LABELS = "reviewed_labels"
ACCEPTED_LABELS = "accepted_labels"
# What a ``label_batch`` run writes for its batch, and the project-wide tables ``publish``
# refreshes (the run plan checks exactly these for staleness).
BATCH_TABLES = (RAW_ITEMS, CANDIDATE_LABELS, AUTO_LABELS)
PUBLISH_TABLES = (ACCEPTED_LABELS, REVIEW_QUEUE)


class ProjectData:
    def __init__(self, spec: ProjectSpec) -> None:
        self.spec = spec

    @cached_property
    def tables(self) -> TableStore:
        return TableStore(self.spec.project_dir / "tables")

    @cached_property
    def reviews(self) -> ReviewStore:
        return ReviewStore(self.spec.project_dir / "reviews")

    @property
    def queue_dir(self) -> Path:
        return self.spec.review.folder / "queue"

    @property
    def inbox_dir(self) -> Path:
        """Drop folder watched by the review sensor."""
        return self.spec.review.folder / "inbox"

    def items(self, columns: list[str] | None = None) -> pd.DataFrame:
        read = None if columns is None else sorted({"item_id", *columns})
        frame = self.tables.read_all(RAW_ITEMS, columns=read)  # only the columns asked for
        if frame.empty:
            return pd.DataFrame(columns=columns or ["item_id", "text"])
        frame = frame.drop_duplicates("item_id")
        return frame if columns is None else frame[columns]

    def item_ids(self) -> set[str]:
        return set(self.items(["item_id"])["item_id"])

    def auto_labels(self) -> pd.DataFrame:
        return self.tables.read_all(AUTO_LABELS)

    def reviewed(self) -> pd.DataFrame:
        """Current human decision per item (latest review wins)."""
        return self.reviews.reviewed_labels()

    def texts(self, item_ids: Iterable[str]) -> pd.DataFrame:
        """``item_id``, ``text`` of the given items, read without loading every batch whole."""
        wanted = sorted(set(item_ids))
        frames = []
        for key in self.tables.partitions(RAW_ITEMS) if wanted else []:
            if self.tables.row_count(RAW_ITEMS, key) == 0:
                continue  # a batch of no new items: its columns have no type to filter on
            table = pq.read_table(
                self.tables.path(RAW_ITEMS, key),
                columns=["item_id", "text"],
                filters=[("item_id", "in", wanted)],
            )
            frames.append(table.to_pandas())
        if not frames:
            return pd.DataFrame({"item_id": pd.Series(dtype=str), "text": pd.Series(dtype=str)})
        return pd.concat(frames, ignore_index=True).drop_duplicates("item_id")

    def with_text(self, reviewed: pd.DataFrame) -> pd.DataFrame:
        """Reviewed labels (``item_id``, ``label``) joined to their items' text."""
        pairs = reviewed[["item_id", "label"]]
        return pairs.merge(self.texts(pairs["item_id"]), on="item_id", how="inner")

    def reviewed_with_text(self) -> pd.DataFrame:
        return self.with_text(self.reviewed())

    def queue_purposes(self) -> dict[str, str]:
        if not self.tables.exists(REVIEW_QUEUE):
            return {}
        queue = self.tables.read(REVIEW_QUEUE)
        return dict(zip(queue["item_id"], queue["purpose"], strict=True))

    def import_review_file(self, path: Path) -> ImportResult:
        """Validate a review file against the known items, classes and the project's pinned
        identities (reviewers stored as canonical identity names), then store it whole."""
        from labelgate.governance.identities_pin import reviewer_resolver

        return self.reviews.import_file(
            Path(path),
            known_items=self.item_ids(),
            class_names=self.spec.class_names,
            purposes=self.queue_purposes(),
            reviewers=reviewer_resolver(self.spec),
        )
