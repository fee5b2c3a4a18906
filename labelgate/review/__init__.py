"""Human review: queue selection, reviewer file exchange, validated import, review store."""

from labelgate.review.exchange import (
    label_studio_config,
    read_review_file,
    with_source_ids,
    write_label_studio_tasks,
    write_queue_csv,
)
from labelgate.review.queue import QUEUE_COLUMNS, allocate_proportional, select_review_queue
from labelgate.review.store import REVIEWED_COLUMNS, ImportResult, ReviewStore

__all__ = [
    "QUEUE_COLUMNS",
    "REVIEWED_COLUMNS",
    "ImportResult",
    "ReviewStore",
    "allocate_proportional",
    "label_studio_config",
    "read_review_file",
    "select_review_queue",
    "with_source_ids",
    "write_label_studio_tasks",
    "write_queue_csv",
]
