"""Governance hooks the stage assets call: ledgered writes, review and gate records, and the
ledger head / label-set version every materialization reports."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from assets.common import ProjectAssets
from labelgate.governance.erasure_filter import drop_erased
from labelgate.governance.metadata import governance_metadata
from labelgate.governance.recording import (
    candidate_rows,
    ingest_rows,
    quarantine_rows,
    record_threshold,
)
from labelgate.ingest import IngestResult
from labelgate.ledger import Ledger, LedgerRow
from labelgate.ledger.commit import ledgered_stream, ledgered_write, recover_tables
from labelgate.project import CANDIDATE_LABELS, QUARANTINE, RAW_ITEMS
from labelgate.storage import TableWriter


def ledger_of(project: ProjectAssets) -> Ledger:
    return Ledger.for_project(project.spec)


def commit_ingest(
    context: dg.AssetExecutionContext, project: ProjectAssets, result: IngestResult
) -> tuple[IngestResult, dict[str, Any]]:
    """Drop erased items, then write raw_items with its ingest/quarantine rows as one unit."""
    ledger = ledger_of(project)
    recover_tables(ledger, project.data.tables)
    result, erased = drop_erased(result, ledger.erased_items())
    key, sha = context.partition_key, result.source_sha256
    project.data.tables.write(QUARANTINE, result.quarantine, key)
    path, appended = ledgered_write(
        ledger,
        project.data.tables,
        RAW_ITEMS,
        result.items,
        key,
        lambda _: ingest_rows(result.items, sha) + quarantine_rows(result.quarantine, sha),
        run_id=context.run_id,
    )
    return result, {
        "path": dg.MetadataValue.path(str(path)),
        "erased_skipped": erased,
        "ledger_rows_appended": appended,
        **governance_metadata(project.spec),
    }


@contextmanager
def candidate_writer(
    context: dg.AssetExecutionContext,
    project: ProjectAssets,
    schema: Any,
    rows: Callable[[Path, str], Iterator[LedgerRow]] = candidate_rows,
) -> Iterator[TableWriter]:
    """The candidate_labels stream; its label_proposed rows (``rows(file, batch)``, text
    labels by default) commit with the file."""
    key = context.partition_key
    with ledgered_stream(
        ledger_of(project),
        project.data.tables,
        CANDIDATE_LABELS,
        key,
        schema,
        lambda path: rows(path, key),
        run_id=context.run_id,
    ) as writer:
        yield writer


def record_gate(
    context: dg.AssetExecutionContext,
    project: ProjectAssets,
    gate: dict[str, Any],
    accepted: pd.DataFrame,
) -> dict[str, Any]:
    record_threshold(ledger_of(project), gate, run_id=context.run_id, accepted=accepted)
    return governance_metadata(project.spec)
