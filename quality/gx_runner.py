"""Validate an in-memory pandas DataFrame against a Great Expectations 1.x suite.

One ephemeral GX context per process (building it and importing GX is the slow part); each
call registers a uniquely named dataframe asset on a shared pandas data source, validates one
whole-dataframe batch, then removes the asset again so the context does not grow.
"""

import itertools
import math
import threading
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import great_expectations as gx
import numpy as np
import pandas as pd
from great_expectations.core import ExpectationValidationResult
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.datasource.fluent import PandasDatasource

DATASOURCE = "labelgate"
MAX_EXAMPLES = 5

_lock = threading.Lock()
_counter = itertools.count()


@dataclass(frozen=True)
class SuiteOutcome:
    """What one suite run found: each ``failed`` entry names expectation, column and examples."""

    suite: str
    success: bool
    evaluated: int
    failed: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        if self.success:
            return f"all {self.evaluated} expectations of suite {self.suite!r} passed"
        names = ", ".join(f"{f['expectation']}({f['column'] or ''})" for f in self.failed)
        return f"{len(self.failed)} of {self.evaluated} expectations failed: {names}"


@cache
def _datasource() -> PandasDatasource:
    """The pandas data source of this process's ephemeral context, built on first use."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context.data_sources.add_pandas(name=DATASOURCE)


def gx_ready_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Cast pandas string dtypes (pandas 3's default ``str``) to ``object`` for GX metrics."""
    strings = {
        column: object
        for column, dtype in frame.dtypes.items()
        if isinstance(dtype, pd.StringDtype)
    }
    return frame.astype(strings) if strings else frame


def _json_safe(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


# Columns that hold item content: their values never reach check metadata (Dagster's storage).
CONTENT_COLUMNS = frozenset({"text", "excerpt"})


def _shown(column: Any, value: Any) -> Any:
    if column in CONTENT_COLUMNS and value is not None:
        return f"(text withheld, {len(str(value))} characters)"
    return _json_safe(value)


def _condition_text(condition: Any) -> str:
    if hasattr(condition, "dict"):
        condition = condition.dict()
    if isinstance(condition, dict) and {"column", "operator"} <= condition.keys():
        column = condition["column"]
        name = column.get("name") if isinstance(column, dict) else column
        return f"{name} {condition['operator']} {condition.get('parameter')!r}"
    return str(condition)


def _failure(result: ExpectationValidationResult) -> dict[str, Any]:
    config = result.expectation_config
    details = result.result or {}
    entry: dict[str, Any] = {
        "expectation": config.type,
        "column": config.kwargs.get("column"),
    }
    if config.kwargs.get("row_condition") is not None:
        entry["row_condition"] = _condition_text(config.kwargs["row_condition"])
    if "unexpected_count" in details:
        entry["unexpected_count"] = int(details["unexpected_count"])
        entry["unexpected_percent"] = round(float(details.get("unexpected_percent") or 0.0), 3)
        entry["unexpected_values"] = [
            {"value": _shown(entry["column"], c["value"]), "count": int(c["count"])}
            for c in details.get("partial_unexpected_counts", [])[:MAX_EXAMPLES]
        ]
    elif "observed_value" in details:
        entry["observed_value"] = _json_safe(details["observed_value"])
    errors = _errors(result.exception_info or {})
    if errors:
        entry["error"] = "; ".join(errors)
    return entry


def _errors(info: dict[str, Any]) -> list[str]:
    """Exception messages from ``exception_info``: flat, or nested per metric as in GX 1.x."""
    infos = [info] if "raised_exception" in info else list(info.values())
    messages = [str(i.get("exception_message")) for i in infos if i.get("raised_exception")]
    return list(dict.fromkeys(messages))


def run_suite(frame: pd.DataFrame, suite: gx.ExpectationSuite) -> SuiteOutcome:
    """Validate ``frame`` (the whole of it, as one batch) against ``suite``."""
    result_format = {"result_format": "SUMMARY", "partial_unexpected_count": 20}
    with _lock:
        datasource = _datasource()
        asset_name = f"{suite.name}-{next(_counter)}"
        asset = datasource.add_dataframe_asset(name=asset_name)
        try:
            batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(
                batch_parameters={"dataframe": gx_ready_frame(frame)}
            )
            validation = batch.validate(suite, result_format=result_format)
        finally:
            datasource.delete_asset(asset_name)
    return SuiteOutcome(
        suite=suite.name,
        success=bool(validation.success),
        evaluated=len(validation.results),
        failed=[_failure(r) for r in validation.results if not r.success],
    )
