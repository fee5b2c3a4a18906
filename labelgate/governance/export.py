"""Text leaving the system: PII policy applied, file committed with its ``export_made`` row.

``governed_export`` is what every export goes through (``labelgate export``, the release of
an approved label set); ``release_label_set`` exports only an approved, intact label set.
"""

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from labelgate.errors import LabelgateError
from labelgate.export import ExportFormat, export_frame, write_export
from labelgate.governance.verify import label_set_problems
from labelgate.ids import sha256_file
from labelgate.label_sets import LabelSet, LabelSetStore
from labelgate.ledger import Ledger, LedgerEvent, LedgerRow
from labelgate.ledger.commit import commit_file
from labelgate.ledger.events import EXPORT_MADE, LABEL_SET_CREATED
from labelgate.pii import RedactionReport, apply_pii_policy
from labelgate.project import ProjectData

if TYPE_CHECKING:
    from labelgate.spec import ProjectSpec

EXPORT_KIND = "export"


class ReleaseRefused(LabelgateError):
    """Only an approved, unmodified label set may be released."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int
    redactions: RedactionReport
    label_set: LabelSet | None = None


def governed_export(
    spec: "ProjectSpec",
    frame: pd.DataFrame,
    out_dir: Path,
    fmt: ExportFormat,
    name: str,
    *,
    what: str,
    run_id: str | None = None,
    extra: dict[str, Any] | None = None,
    pii_column: str | None = "text",
) -> ExportResult:
    """Apply ``governance.pii`` to the ``pii_column`` column (None: the export holds no
    text, e.g. image labels), then write the file and its ledger row as one unit. Erased
    items are dropped first."""
    ledger = Ledger.for_project(spec)
    erased = ledger.erased_items()
    frame = frame[~frame["item_id"].isin(erased)].reset_index(drop=True)
    if pii_column is None:
        report = RedactionReport()
    else:
        frame, report = apply_pii_policy(frame, pii_column, spec.governance.pii, what=what)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".export-", dir=out_dir) as staging:
        written = write_export(frame, Path(staging), fmt, name)
        target = out_dir / written.name
        payload = {
            "what": what,
            "path": str(target),
            "format": fmt,
            "rows": len(frame),
            "pii_policy": spec.governance.pii,
            "redactions": report.as_dict(),
            "redacted_cells": report.texts,
            "erased_excluded": len(erased),
            **(extra or {}),
        }

        def rows(path: Path) -> list[LedgerRow]:
            return [(EXPORT_MADE, {**payload, "sha256": sha256_file(path)}, None)]

        commit_file(ledger, written, target, str(target), rows, run_id, kind=EXPORT_KIND)
    return ExportResult(target, len(frame), report)


def approved_label_set(
    spec: "ProjectSpec", version: int | None = None
) -> tuple[LabelSet, LedgerEvent]:
    """Label set ``version`` (default: the latest approved) and its ``label_set_created``
    row, or ``ReleaseRefused`` unless it is approved and its files match the ledger."""
    ledger = Ledger.for_project(spec)
    store = LabelSetStore(spec, ledger)
    label_set = store.get(version) if version is not None else store.latest(status="approved")
    if label_set is None:
        raise ReleaseRefused(
            f"project {spec.name} has no approved label set to release; a steward approves "
            f"one with: labelgate approve {spec.name} VERSION --as NAME"
        )
    if label_set.status != "approved":
        raise ReleaseRefused(
            f"label set v{label_set.version} of {spec.name} is {label_set.status}, not approved"
        )
    created = next(
        e
        for e in ledger.events(event=LABEL_SET_CREATED)
        if e.payload["version"] == label_set.version
    )
    problems = label_set_problems(label_set.directory, created)
    if problems:
        raise ReleaseRefused(f"label set v{label_set.version} fails verification: {problems[0]}")
    return label_set, created


def release_label_set(
    spec: "ProjectSpec",
    *,
    fmt: ExportFormat = "parquet",
    out_dir: Path | None = None,
    version: int | None = None,
    run_id: str | None = None,
) -> ExportResult:
    """Export an approved label set with its (PII-gated) text."""
    label_set, created = approved_label_set(spec, version)
    frame = export_frame(label_set.labels(), ProjectData(spec).items())
    result = governed_export(
        spec,
        frame,
        out_dir or spec.project_dir / "exports",
        fmt,
        f"{spec.name}_label_set_v{label_set.version}",
        what=f"release of label set v{label_set.version}",
        run_id=run_id,
        extra={
            "label_set_version": label_set.version,
            "content_sha256": created.payload["content_sha256"],
        },
    )
    return ExportResult(result.path, result.rows, result.redactions, label_set)
