"""Expectation suites for labelgate's tables.

The column lists restate the schemas of docs/ARCHITECTURE.md on purpose: a suite is a contract
on the tables, not a mirror of the code that writes them. Each builder returns a fresh
``gx.ExpectationSuite`` named after its table; label columns are checked against the
project's classes, so builders take ``class_names``.
"""

from collections.abc import Callable, Iterable, Sequence

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.row_conditions import Column

from labelgate.project import ACCEPTED_LABELS, AUTO_LABELS, RAW_ITEMS, REVIEWED_LABELS

ITEM_COLUMNS = ("item_id", "text", "batch", "source_file", "source_row", "source_id")
AUTO_LABEL_COLUMNS = (
    "item_id", "batch", "label", "confidence", "margin", "entropy", "probs",
    "agreeing_sources", "labeler_versions",
)  # fmt: skip
REVIEWED_COLUMNS = (
    "item_id", "label", "reviewer", "purpose", "reviewed_at", "review_file",
    "review_file_sha256",
)  # fmt: skip
ACCEPTED_COLUMNS = (
    "item_id", "label", "source", "confidence", "labeler_versions", "reviewer", "run_id",
)  # fmt: skip
PURPOSES = ("calibration", "uncertain", "adhoc")
SOURCES = ("auto", "human")

SuiteBuilder = Callable[[Sequence[str]], gx.ExpectationSuite]


def _suite(name: str, columns: Iterable[str], *rules: Expectation) -> gx.ExpectationSuite:
    exist = [gxe.ExpectColumnToExist(column=column) for column in columns]
    return gx.ExpectationSuite(name=name, expectations=[*exist, *rules])


def _label_suite(
    name: str, columns: Iterable[str], class_names: Sequence[str], *rules: Expectation
) -> gx.ExpectationSuite:
    """A table of one label per item: a unique item id and a known class, then ``rules``."""
    return _suite(name, columns, *_key(), *_labels(class_names), *rules)


def _key(column: str = "item_id") -> list[Expectation]:
    return [
        gxe.ExpectColumnValuesToNotBeNull(column=column),
        gxe.ExpectColumnValuesToBeUnique(column=column),
    ]


def _in_set(column: str, values: Iterable[str]) -> list[Expectation]:
    return [
        gxe.ExpectColumnValuesToNotBeNull(column=column),
        gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(values)),
    ]


def _labels(class_names: Sequence[str]) -> list[Expectation]:
    return _in_set("label", class_names)


def _unit_interval(column: str) -> list[Expectation]:
    return [
        gxe.ExpectColumnValuesToNotBeNull(column=column),
        gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0.0, max_value=1.0),
    ]


def raw_items_suite(class_names: Sequence[str] = ()) -> gx.ExpectationSuite:
    """Ingested items: one row per item id, every item has text."""
    return _suite(
        RAW_ITEMS, ITEM_COLUMNS, *_key(), gxe.ExpectColumnValuesToNotBeNull(column="text")
    )


def auto_labels_suite(class_names: Sequence[str]) -> gx.ExpectationSuite:
    """Label-model output: a known class per item, confidence and margin in [0, 1]."""
    return _label_suite(
        AUTO_LABELS,
        AUTO_LABEL_COLUMNS,
        class_names,
        *_unit_interval("confidence"),
        gxe.ExpectColumnValuesToBeBetween(column="margin", min_value=0.0, max_value=1.0),
    )


def reviewed_labels_suite(class_names: Sequence[str]) -> gx.ExpectationSuite:
    """Human decisions: latest one per item, a known class, who decided and why it was asked."""
    return _label_suite(
        REVIEWED_LABELS,
        REVIEWED_COLUMNS,
        class_names,
        gxe.ExpectColumnValuesToNotBeNull(column="reviewer"),
        gxe.ExpectColumnValuesToBeInSet(column="purpose", value_set=list(PURPOSES)),
    )


def accepted_labels_suite(class_names: Sequence[str]) -> gx.ExpectationSuite:
    """Published labels: auto or human, and every human label names its reviewer."""
    return _label_suite(
        ACCEPTED_LABELS,
        ACCEPTED_COLUMNS,
        class_names,
        *_in_set("source", SOURCES),
        *_unit_interval("confidence"),
        gxe.ExpectColumnValuesToNotBeNull(
            column="reviewer", row_condition=Column("source") == "human"
        ),
    )


SUITES: dict[str, SuiteBuilder] = {
    RAW_ITEMS: raw_items_suite,
    AUTO_LABELS: auto_labels_suite,
    REVIEWED_LABELS: reviewed_labels_suite,
    ACCEPTED_LABELS: accepted_labels_suite,
}


def build_suite(table: str, class_names: Sequence[str]) -> gx.ExpectationSuite:
    """The suite for ``table`` (one of ``SUITES``) under the project's classes."""
    if table not in SUITES:
        raise KeyError(f"no expectation suite for table {table!r}; known: {sorted(SUITES)}")
    return SUITES[table](class_names)
