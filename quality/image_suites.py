"""Expectation suites for image items and box sets (docs/ARCHITECTURE.md, image section),
and :func:`suite_for`, which picks a modality's suite per table.

Classification projects label like text, so their auto/reviewed/accepted tables use the text
suites; detection tables hold box lists, checked here on their scalar columns (box contents
are validated where they are read: ``labelgate.images.exchange``).
"""

from collections.abc import Sequence

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from labelgate.project import ACCEPTED_LABELS, AUTO_LABELS, RAW_ITEMS, REVIEWED_LABELS
from quality.suites import _key, _suite, _unit_interval, build_suite

IMAGE_ITEM_COLUMNS = ("item_id", "path", "width", "height", "format", "batch", "source_file")
DETECTION_AUTO_COLUMNS = (
    "item_id", "batch", "boxes", "n_boxes", "confidence", "agreeing_sources", "labeler_versions",
)  # fmt: skip
DETECTION_REVIEWED_COLUMNS = ("item_id", "boxes", "reviewer", "purpose", "reviewed_at")
DETECTION_ACCEPTED_COLUMNS = ("item_id", "boxes", "n_boxes", "source", "confidence", "run_id")


def image_items_suite(class_names: Sequence[str] = ()) -> gx.ExpectationSuite:
    """Ingested images: one row per item id, a path and a positive size."""
    return _suite(
        RAW_ITEMS,
        IMAGE_ITEM_COLUMNS,
        *_key(),
        gxe.ExpectColumnValuesToNotBeNull(column="path"),
        gxe.ExpectColumnValuesToBeBetween(column="width", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="height", min_value=1),
    )


def detection_auto_suite(class_names: Sequence[str]) -> gx.ExpectationSuite:
    return _suite(
        AUTO_LABELS,
        DETECTION_AUTO_COLUMNS,
        *_key(),
        *_unit_interval("confidence"),
        gxe.ExpectColumnValuesToBeBetween(column="n_boxes", min_value=0),
    )


def detection_reviewed_suite(class_names: Sequence[str]) -> gx.ExpectationSuite:
    return _suite(
        REVIEWED_LABELS,
        DETECTION_REVIEWED_COLUMNS,
        *_key(),
        gxe.ExpectColumnValuesToNotBeNull(column="reviewer"),
        gxe.ExpectColumnValuesToBeInSet(
            column="purpose", value_set=["calibration", "uncertain", "adhoc", "gold"]
        ),
    )


def detection_accepted_suite(class_names: Sequence[str]) -> gx.ExpectationSuite:
    return _suite(
        ACCEPTED_LABELS,
        DETECTION_ACCEPTED_COLUMNS,
        *_key(),
        gxe.ExpectColumnValuesToBeInSet(column="source", value_set=["auto", "human"]),
        *_unit_interval("confidence"),
        gxe.ExpectColumnValuesToNotBeNull(
            column="reviewer", row_condition=Column("source") == "human"
        ),
    )


BOX_SUITES = {
    AUTO_LABELS: detection_auto_suite,
    REVIEWED_LABELS: detection_reviewed_suite,
    ACCEPTED_LABELS: detection_accepted_suite,
}


def suite_for(
    table: str, class_names: Sequence[str], *, item_kind: str, label_kind: str
) -> gx.ExpectationSuite:
    """The suite for ``table`` of a modality: its items (text or images) and its labels
    (class labels or box sets)."""
    if table == RAW_ITEMS and item_kind == "image":
        return image_items_suite(class_names)
    if table in BOX_SUITES and label_kind == "boxes":
        return BOX_SUITES[table](class_names)
    return build_suite(table, class_names)
