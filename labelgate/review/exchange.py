"""Files exchanged with reviewers: the queue as CSV or Label Studio tasks, and the answers.

``read_review_file`` refuses a file as a whole: it collects every bad row first and raises
one :class:`~labelgate.errors.ReviewFileError` naming them all, so nothing is half-imported.
Row numbers are what the user sees: CSV line numbers with the header as line 1, and for a
Label Studio export the 0-based index of the task in the exported list.

Reviewers are resolved by a :data:`~labelgate.identities.ReviewerResolver` (the project's
identities, see ``labelgate.governance.identities_pin``): a row whose reviewer resolves to
no identity, only looks like one, or is not a safe name refuses the file; what is stored is
the canonical identity name. In a Label Studio task the last annotation's answer wins and
everyone who gave it counts; an item answered the same way by two reviewers keeps both
reviews, so four-eyes sees everyone.
"""

import csv
import io
import json
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from labelgate.csv_safety import write_csv
from labelgate.errors import ReviewFileError
from labelgate.identities import IdentityError, ReviewerResolver, safe_name
from labelgate.review.label_studio import completed_annotations, labeling_config
from labelgate.review.reviewer_names import reviewer_problem
from labelgate.storage import atomic_path, write_text_atomic

CSV_COLUMNS = ["item_id", "text", "predicted_label", "confidence", "purpose", "rank"]
SOURCE_ID = "source_id"  # the user's own id (``source.id_column``), when the queue carries it
REQUIRED_COLUMNS = ["item_id", "label", "reviewer"]
_DELIMITERS = (",", ";", "\t")


class Record(NamedTuple):
    """One row of a review file as read, before validation."""

    row: int | str
    item_id: str | None
    label: str | None
    reviewer: str | None
    problem: str | None = None  # the row cannot be read at all


def with_source_ids(queue: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """``queue`` with the items' ``source_id`` column (the user's own id, or empty)."""
    if SOURCE_ID in queue.columns:
        return queue
    if SOURCE_ID not in items.columns:
        return queue.assign(**{SOURCE_ID: None})
    ids = items[["item_id", SOURCE_ID]].drop_duplicates("item_id")
    return queue.merge(ids, on="item_id", how="left")


def _csv_columns(queue: pd.DataFrame) -> list[str]:
    return CSV_COLUMNS[:1] + [SOURCE_ID] * (SOURCE_ID in queue.columns) + CSV_COLUMNS[1:]


def write_queue_csv(queue: pd.DataFrame, path: Path) -> Path:
    """Write the queue for reviewers, in rank order, with empty ``label``/``reviewer`` columns
    (and ``source_id`` after ``item_id`` when the queue has it); formula cells defused."""
    path = Path(path)
    out = queue.sort_values("rank", kind="stable").loc[:, _csv_columns(queue)]
    out = out.assign(label="", reviewer="").astype({"text": str, "predicted_label": str})
    with atomic_path(path) as tmp:
        write_csv(out, tmp)
    return path


def label_studio_config(class_names: list[str]) -> str:
    """Label Studio labeling config: one text, a single choice among the classes."""
    return labeling_config("Text", "Choices", "Choice", class_names, single=True)


def _task_data(row: Any) -> dict[str, str]:
    data = {"item_id": str(row.item_id), "text": str(row.text)}
    source_id = getattr(row, SOURCE_ID, None)
    if isinstance(source_id, str):
        data[SOURCE_ID] = source_id
    return data


def write_label_studio_tasks(
    queue: pd.DataFrame, path: Path, class_names: list[str], *, model_version: str
) -> tuple[Path, Path]:
    """Write Label Studio tasks (with the model's prediction) and, beside them, the config.

    The config goes to ``<stem>.label_config.xml`` next to ``path``; both paths are returned.
    """
    path = Path(path)
    unknown = sorted(set(queue["predicted_label"].astype(str)) - set(class_names))
    if unknown:
        raise ValueError(f"queue predicts label(s) {unknown} that are not classes {class_names}")
    tasks = [
        {
            "data": _task_data(row),
            "predictions": [
                {
                    "model_version": model_version,
                    "score": float(row.confidence),
                    "result": [
                        {
                            "from_name": "label",
                            "to_name": "text",
                            "type": "choices",
                            "value": {"choices": [str(row.predicted_label)]},
                        }
                    ],
                }
            ],
        }
        for row in queue.sort_values("rank", kind="stable").itertuples(index=False)
    ]
    write_text_atomic(path, json.dumps(tasks, ensure_ascii=False, indent=2) + "\n")
    config_path = path.with_name(f"{path.stem}.label_config.xml")
    write_text_atomic(config_path, label_studio_config(class_names))
    return path, config_path


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


class _FileProblem(Exception):
    """The file as a whole cannot be read; ``row`` is 1 (the header) or ``"file"``."""

    def __init__(self, row: int | str, reason: str) -> None:
        super().__init__(reason)
        self.row, self.reason = row, reason


def _csv_records(text: str) -> tuple[list[Record], int]:
    if not text.strip():
        raise _FileProblem("file", "is empty: no header and no rows")
    first_line = text.split("\n", 1)[0]
    delimiter = next(
        (d for d in _DELIMITERS if "item_id" in [c.strip().lower() for c in first_line.split(d)]),
        ",",
    )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [c.strip().lower() for c in next(reader, [])]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise _FileProblem(1, f"missing required column(s) {missing}; the header has {header}")
        doubled = sorted({c for c in REQUIRED_COLUMNS if header.count(c) > 1})
        if doubled:
            raise _FileProblem(1, f"column(s) {doubled} appear more than once in the header")
        index = [header.index(c) for c in REQUIRED_COLUMNS]
        records: list[Record] = []
        total, line = 0, reader.line_num
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue  # a blank line
            total += 1
            if len(cells) > len(header):
                problem = f"has {len(cells)} fields but the header has {len(header)}"
                records.append(Record(start, None, None, None, problem))
                continue
            item_id, label, reviewer = (_clean(cells[i]) if i < len(cells) else None for i in index)
            records.append(Record(start, item_id, label, reviewer))
    except csv.Error as exc:
        raise _FileProblem("file", f"unreadable CSV near line {reader.line_num}: {exc}") from None
    return records, total


def _reviewer(completed_by: Any) -> str | None:
    if isinstance(completed_by, dict):
        for key in ("email", "username", "id"):
            value = completed_by.get(key)
            if not isinstance(value, bool) and _clean(value):
                return _clean(value)
        return None
    if isinstance(completed_by, bool):
        return None
    return _clean(completed_by) if isinstance(completed_by, int | str) else None


def _annotation_label(annotation: dict[str, Any]) -> str | None:
    results = [r for r in annotation.get("result") or [] if isinstance(r, dict)]
    choices = [r for r in results if r.get("type") == "choices"] or results
    preferred = [r for r in choices if r.get("from_name") == "label"] or choices
    for result in preferred:
        value = result.get("value")
        picked = value.get("choices") if isinstance(value, dict) else None
        if isinstance(picked, list) and picked:
            return _clean(picked[0])
    return None


def _json_records(text: str) -> tuple[list[Record], int]:
    try:
        tasks = json.loads(text)
    except json.JSONDecodeError as exc:
        reason = f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise _FileProblem("file", reason) from None
    if not isinstance(tasks, list):
        raise _FileProblem("file", "expected a JSON list of tasks (a Label Studio JSON export)")
    records: list[Record] = []
    for index, task in enumerate(tasks):
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            problem = "is not a Label Studio task with 'data' (export as JSON, not JSON-MIN)"
            records.append(Record(index, None, None, None, problem))
            continue
        annotations = completed_annotations(task)
        if not annotations:
            continue  # not reviewed yet
        item_id = _clean(task["data"].get("item_id"))
        label = _annotation_label(annotations[-1])  # the last annotation wins
        for annotation in annotations:  # everyone who gave that answer counts as a reviewer
            if annotation is annotations[-1] or _annotation_label(annotation) == label:
                reviewer = _reviewer(annotation.get("completed_by"))
                records.append(Record(index, item_id, label, reviewer))
    return records, len(tasks)


def _is_json(path: Path, text: str) -> bool:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return False
    return suffix == ".json" or text.lstrip()[:1] in ("[", "{")


def _problems(
    record: Record, known_items: set[str], class_names: list[str], reviewers: ReviewerResolver
) -> tuple[list[str], str | None]:
    """What is wrong with a row, and its reviewer as stored (None when unresolved)."""
    problems, who = [], None
    if record.item_id is None:
        problems.append("missing item id")
    elif record.item_id not in known_items:
        problems.append(f"unknown item id {record.item_id!r}")
    if record.label is None:
        problems.append("missing label")
    elif record.label not in class_names:
        problems.append(f"label {record.label!r} is not one of the classes {class_names}")
    if record.reviewer is None:
        problems.append("missing reviewer")
    elif problem := reviewer_problem(record.reviewer):
        problems.append(problem)
    else:
        try:
            who = reviewers(record.reviewer)
        except IdentityError as exc:
            problems.append(str(exc))
    return problems, who


def read_review_file(
    path: Path,
    *,
    known_items: set[str],
    class_names: list[str],
    reviewers: ReviewerResolver = safe_name,
) -> pd.DataFrame:
    """Read and validate a filled-in queue CSV or a Label Studio JSON export.

    Returns one row per review (columns ``item_id``, ``label``, ``reviewer``) in file
    order, the reviewer as ``reviewers`` resolves it. Rows with neither a label nor a
    reviewer (and tasks with no annotation) are not reviewed yet and are skipped; an item
    answered the same way by several reviewers keeps one row per reviewer. Any bad row makes
    the whole file fail with :class:`ReviewFileError` listing every bad row.
    """
    path = Path(path)
    try:
        if not path.is_file():
            raise _FileProblem("file", "does not exist or is not a file")
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _FileProblem("file", f"is not UTF-8 text: {exc}") from None
        records, total = _json_records(text) if _is_json(path, text) else _csv_records(text)
    except _FileProblem as exc:
        raise ReviewFileError(str(path), [(exc.row, exc.reason)]) from None

    bad: list[tuple[int | str, str]] = []
    first_seen: dict[str, Record] = {}
    kept: set[tuple[str, str]] = set()  # (item, reviewer) already in ``out``
    out: list[tuple[str, str, str]] = []
    for record in records:
        if record.problem:
            bad.append((record.row, record.problem))
            continue
        if record.label is None and record.reviewer is None:
            continue  # not reviewed yet
        problems, who = _problems(record, known_items, class_names, reviewers)
        first = first_seen.setdefault(record.item_id, record) if record.item_id else record
        if first is not record and first.label != record.label:
            problems.append(
                f"item {record.item_id!r} already appears in row {first.row} with label "
                f"{first.label!r}, here with {record.label!r}"
            )
        if problems:
            bad.append((record.row, "; ".join(problems)))
        elif (str(record.item_id), str(who)) not in kept:  # the same reviewer twice: once
            kept.add((str(record.item_id), str(who)))
            out.append((str(record.item_id), str(record.label), str(who)))
    if total == 0:
        bad.append(("file", "has no rows"))
    elif not bad and not out:
        bad.append(("file", "has no reviewed rows (every label and reviewer is empty)"))
    if bad:
        raise ReviewFileError(str(path), bad)
    return pd.DataFrame(out, columns=REQUIRED_COLUMNS).astype(dict.fromkeys(REQUIRED_COLUMNS, str))
