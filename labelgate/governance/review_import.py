"""Import review files all or nothing, together with their ``review_decision`` ledger rows.

1. Every file is validated first (:meth:`ReviewStore.prepare`); one bad file refuses them
   all, naming each bad file and row, and nothing is written.
2. Each file's reviews are written to a *staged* name, ``.{sha256}.parquet.{host}~{pid}.staged``
   beside its target (the store reads only ``*.parquet``).
3. One ledger transaction appends the ``review_decision`` rows of every file. This is the
   commit point: a ledger that cannot be written (an outage) fails here, the staged files
   are deleted, and a retry finds nothing "already imported".
4. The staged files are renamed into place. A crash between 3 and 4 is finished by
   :func:`recover_review_files` on the next import: a staged file whose review rows are in
   the ledger is rolled forward; one whose rows are not, and whose writer is gone, is
   deleted. (The rows are the marker: no commit marker is kept, so an erasure may rewrite
   an imported file without breaking ``verify``.)
"""

import os
from collections.abc import Sequence
from pathlib import Path

import pyarrow.parquet as pq

from labelgate.errors import ReviewFileError
from labelgate.governance.recording import review_rows
from labelgate.identities import ReviewerResolver, safe_name
from labelgate.ledger import Ledger
from labelgate.ledger.events import REVIEW_DECISION
from labelgate.review.store import ImportResult, PreparedImport, ReviewStore
from labelgate.storage import atomic_path, fsync_dir, orphaned, owner_tag


class ReviewImportRefused(ReviewFileError):
    """Several review files were given and at least one was refused: none was imported."""

    def __init__(self, total: int, refusals: list[ReviewFileError]) -> None:
        self.refusals = refusals
        self.path = ", ".join(r.path for r in refusals)
        self.bad_rows = [row for r in refusals for row in r.bad_rows]
        details = "\n".join(str(r) for r in refusals)
        Exception.__init__(
            self,
            f"review import refused: {len(refusals)} of {total} file(s) are bad, so none of "
            f"the {total} was imported:\n{details}",
        )


def _stage(item: PreparedImport) -> Path:
    """Write ``item``'s rows under their staged name, which names this process."""
    stage = item.path.with_name(f".{item.path.name}.{owner_tag()}.staged")
    with atomic_path(stage) as tmp:
        item.rows.to_parquet(tmp, index=False)
    return stage


def _committed(ledger: Ledger, staged: Path, review_sha: str) -> bool:
    """Whether the ledger holds the review rows of the staged file (of review file
    ``review_sha``): the rows of its first item name that file."""
    first = pq.read_table(staged, columns=["item_id"]).column("item_id").to_pylist()[:1]
    rows = ledger.events(item_id=first[0], event=REVIEW_DECISION) if first else []
    return any(row.payload.get("review_file_sha256") == review_sha for row in rows)


def recover_review_files(store: ReviewStore, ledger: Ledger) -> dict[str, list[str]]:
    """Finish imports whose ledger transaction committed (roll forward); drop staged and
    temporary files whose writer is gone without a commit."""
    done: dict[str, list[str]] = {"rolled_forward": [], "discarded": []}
    folder = store.imported_dir
    leftovers = sorted(folder.glob(".*.staged")) if folder.is_dir() else []
    temps = sorted(folder.glob(".*.tmp")) if folder.is_dir() else []
    for staged in leftovers:
        name, owner = staged.name[1:].rsplit(".", 2)[:2]
        target = staged.with_name(name)
        if target.is_file():
            staged.unlink(missing_ok=True)
            done["discarded"].append(str(staged))
        elif _committed(ledger, staged, target.name.removesuffix(".parquet")):
            os.replace(staged, target)
            done["rolled_forward"].append(str(target))
        elif orphaned(staged, owner):
            staged.unlink(missing_ok=True)
            done["discarded"].append(str(staged))
    for temp in temps:
        if orphaned(temp):
            temp.unlink(missing_ok=True)
            done["discarded"].append(str(temp))
    if leftovers or temps:
        fsync_dir(folder)
    return done


def _prepare_all(
    store: ReviewStore,
    paths: Sequence[Path],
    *,
    known_items: set[str],
    class_names: list[str],
    purposes: dict[str, str],
    imported_at: str | None,
    reviewers: ReviewerResolver,
) -> list[PreparedImport]:
    prepared: list[PreparedImport] = []
    refusals: list[ReviewFileError] = []
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            item = store.prepare(
                Path(path),
                known_items=known_items,
                class_names=class_names,
                purposes=purposes,
                imported_at=imported_at,
                reviewers=reviewers,
            )
        except ReviewFileError as exc:
            refusals.append(exc)
            continue
        first = seen.setdefault(item.result.sha256, item.source)
        if first is not item.source:
            reason = f"has the same content as {first}, given earlier in this import"
            refusals.append(ReviewFileError(str(path), [("file", reason)]))
            continue
        prepared.append(item)
    if len(refusals) == 1 and len(paths) == 1:
        raise refusals[0]
    if refusals:
        raise ReviewImportRefused(len(paths), refusals)
    return prepared


def import_review_files(
    store: ReviewStore,
    ledger: Ledger,
    paths: Sequence[Path],
    *,
    known_items: set[str],
    class_names: list[str],
    purposes: dict[str, str],
    run_id: str | None = None,
    imported_at: str | None = None,
    reviewers: ReviewerResolver = safe_name,
) -> list[ImportResult]:
    """Import every file of ``paths`` and record its reviews in the ledger, or nothing.
    ``reviewers`` maps each reviewer as written to the identity name stored."""
    recover_review_files(store, ledger)
    prepared = _prepare_all(
        store,
        paths,
        known_items=known_items,
        class_names=class_names,
        purposes=purposes,
        imported_at=imported_at,
        reviewers=reviewers,
    )
    if not prepared:
        return []
    staged: list[tuple[Path, Path]] = []
    try:
        for item in prepared:
            staged.append((_stage(item), item.path))
        with ledger.transaction() as tx:  # the commit point
            for item in prepared:
                for reviewer, group in item.rows.groupby("reviewer", sort=True):
                    tx.append_many(review_rows(group), run_id=run_id, actor=str(reviewer))
        for stage, target in staged:
            os.replace(stage, target)
        fsync_dir(store.imported_dir)
    finally:
        for stage, _ in staged:
            stage.unlink(missing_ok=True)
    return [item.result for item in prepared]
