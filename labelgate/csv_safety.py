"""CSV cells that a spreadsheet would run as formulas are defused before any CSV is written.

Texts, reviewer names and ids come from outside; a cell that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return is a formula to Excel, LibreOffice and Google Sheets
(OWASP "CSV injection"). Such a cell is written with a leading ``'``, which spreadsheets
show as text and do not evaluate. A plain number (``-3``, ``+1.5``) is not a formula and is
kept as it is. Parquet and JSON exports keep the exact values: only CSV files are defused.
"""

import csv
import re

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def defuse_formula(cell: str) -> str:
    """``cell`` with a leading ``'`` if a spreadsheet would evaluate it as a formula."""
    if cell.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def _defuse_value(value: object) -> object:
    return defuse_formula(value) if isinstance(value, str) else value


def defuse_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every string cell (in any non-numeric column) defused."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_object_dtype(out[column]) or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(_defuse_value)
    return out


def write_csv(frame: pd.DataFrame, path: object) -> None:
    """Write ``frame`` as UTF-8 CSV without an index, formula cells defused.

    Every non-numeric cell is quoted: with minimal quoting a bare carriage return in a cell
    is written unquoted and splits the row when read back."""
    defuse_frame(frame).to_csv(  # type: ignore[call-overload]
        path, index=False, encoding="utf-8", quoting=csv.QUOTE_NONNUMERIC
    )
