"""Governance commands: verify, label-sets, approve, reject, release, trace, erase."""

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from labelgate.errors import LabelgateError
from labelgate.governance.approval import decide, sign_decision
from labelgate.governance.erasure import erase_item
from labelgate.governance.signing import (
    KEY_ENV,
    generate_key,
    load_private_key,
    public_key_line,
    write_private_key,
)
from labelgate.governance.trace import describe, trace_item
from labelgate.governance.verify import verify_project
from labelgate.label_sets import LabelSetStore
from labelgate.ledger import Ledger
from labelgate.ledger.events import EXPORT_MADE
from labelgate.spec import ProjectSpec
from labelgate_cli.output import fail, literal
from labelgate_cli.projects import ProjectArg, resolve_project, workspace_projects

console = Console()
err = Console(stderr=True)

ProjectOpt = Annotated[
    str | None,
    typer.Option("--project", "-p", help="Project file or name (default: search the workspace)."),
]
AsOpt = Annotated[str, typer.Option("--as", help="Your identity (from the identities file).")]
ReasonOpt = Annotated[str, typer.Option(help="Why (kept in the ledger).")]
KeyOpt = Annotated[
    Path | None,
    typer.Option("--key", help=f"Your Ed25519 private key file (default: env {KEY_ENV})."),
]


def _fail(message: str, code: int = 2) -> None:
    fail(message, code, console=err)


def verify(project: ProjectArg) -> None:
    """Walk the ledger's hash chain and check every label-set and committed file against it;
    names the first row or file that does not match (exit code 1)."""
    try:
        spec = resolve_project(project)
        result = verify_project(spec)
    except LabelgateError as exc:
        _fail(str(exc))
        return
    if result.ok:
        console.print(
            f"[bold green]ok[/]: {result.rows} ledger rows, chain intact and anchored, every "
            "label set, committed file, commit marker and erasure matches; ledger head "
            f"[bold]{literal(result.head)}[/]"
        )
        return
    err.print(f"[bold red]verification failed[/]: {literal(result.first_bad)}", soft_wrap=True)
    for problem in result.problems[1:20]:
        err.print(f"  also: {problem}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def label_sets(project: ProjectArg) -> None:
    """List the project's label-set versions, their status and size."""
    try:
        spec = resolve_project(project)
        versions = LabelSetStore(spec).versions()
    except LabelgateError as exc:
        _fail(str(exc))
        return
    table = Table(title=f"label sets · {spec.name}")
    for column in ("version", "status", "items", "human", "auto", "content", "datasheet"):
        table.add_column(column)
    for label_set in versions:
        manifest = label_set.manifest
        sources = manifest.get("sources", {})
        table.add_row(
            f"v{label_set.version}",
            label_set.status,
            str(manifest.get("rows", "?")),
            str(sources.get("human", 0)),
            str(sources.get("auto", 0)),
            str(manifest.get("content_sha256", ""))[:12],
            literal(label_set.datasheet_path),
        )
    console.print(table)


def _decide(
    project: str, version: int, actor: str, decision: str, reason: str, key: Path | None
) -> None:
    try:
        spec = resolve_project(project)
        private_key = load_private_key(key)
        result = decide(
            spec,
            version,
            actor=actor,
            decision=decision,  # type: ignore[arg-type]
            reason=reason,
            key=private_key,
        )
    except LabelgateError as exc:
        _fail(str(exc))
        return
    console.print(
        f"label set v{version} of {spec.name} is now [bold]{result.label_set.status}[/] "
        f"(ledger row {result.seq}); datasheet {literal(result.label_set.datasheet_path)}"
    )


def _decision_command(decision: str, doc: str) -> Callable[..., None]:
    """The ``approve`` or ``reject`` command: the same options, one decision each."""

    def command(
        project: ProjectArg,
        version: Annotated[int, typer.Argument(help=f"Label-set version to {decision}.")],
        as_name: AsOpt,
        reason: ReasonOpt = "",
        key: KeyOpt = None,
    ) -> None:
        _decide(project, version, as_name, decision, reason, key)

    command.__name__ = decision
    command.__doc__ = doc
    return command


approve = _decision_command(
    "approve",
    """Approve a label set, signed with your key: only a steward who reviewed none of its
    labels may.""",
)
reject = _decision_command(
    "reject", "Reject a label set, signed with your key (steward role needed)."
)


class DecisionChoice(StrEnum):
    approve = "approve"
    reject = "reject"


def sign(
    project: ProjectArg,
    version: Annotated[int, typer.Argument(help="Label-set version to decide on.")],
    as_name: AsOpt,
    out: Annotated[Path, typer.Option("--out", help="Signed decision file (JSON) to write.")],
    decision: Annotated[DecisionChoice, typer.Option()] = DecisionChoice.approve,
    reason: ReasonOpt = "",
    key: KeyOpt = None,
) -> None:
    """Sign a decision without applying it: a file for the Dagster decide job's
    signed_decision_file (or its signature and signed_at fields)."""
    try:
        spec = resolve_project(project)
        signed = sign_decision(
            spec,
            version,
            actor=as_name,
            key=load_private_key(key),
            decision=decision.value,  # type: ignore[arg-type]
            reason=reason,
        )
    except LabelgateError as exc:
        _fail(str(exc))
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(signed.to_json() + "\n", encoding="utf-8")
    console.print(f"signed decision written to [bold]{out}[/]", highlight=False)
    console.print(f"signature: {signed.signature}", markup=False, highlight=False)
    console.print(f"signed_at: {signed.statement.signed_at}", markup=False, highlight=False)


def keygen(
    as_name: AsOpt,
    out: Annotated[
        Path | None, typer.Option("--out", help="Private key file (default ~/.labelgate/NAME.pem).")
    ] = None,
) -> None:
    """Make an Ed25519 key pair: the private key goes to a file only you can read; the public
    key line is printed for the identities file."""
    path = out or Path.home() / ".labelgate" / f"{as_name}.pem"
    key = generate_key()
    try:
        write_private_key(key, path)
    except LabelgateError as exc:
        _fail(str(exc))
        return
    console.print(f"private key written to {path} (keep it off the server)", highlight=False)
    console.print("add this to your entry in the identities file:")
    console.print(f'  public_key: "{public_key_line(key)}"', markup=False, highlight=False)


class ReleaseFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"
    labelstudio = "labelstudio"


def release(
    project: ProjectArg,
    format: Annotated[ReleaseFormat, typer.Option("--format")] = ReleaseFormat.parquet,
    out: Annotated[Path | None, typer.Option("--out", help="Folder to write into.")] = None,
) -> None:
    """Export the latest approved label set with its PII-gated text (runs the release job,
    so its blocking checks run too)."""
    from labelgate_cli.governance_runs import run_release
    from labelgate_cli.instance import get_instance

    try:
        spec = resolve_project(project)
        path, redactions = run_release(spec, instance=get_instance(), fmt=format.value, out_dir=out)
    except LabelgateError as exc:
        _fail(str(exc))
        return
    made = Ledger.for_project(spec).events(event=EXPORT_MADE)
    cells = made[-1].payload.get("redacted_cells", "?") if made else "?"
    console.print(
        f"released to [bold]{literal(path)}[/]; PII: {cells} cell(s) redacted "
        f"({literal(redactions or 'none found')})"
    )


def _find_project(item_id: str, project: str | None) -> ProjectSpec:
    if project is not None:
        return resolve_project(project)
    for spec in workspace_projects():
        if Ledger.for_project(spec).events(item_id=item_id):
            return spec
    raise LabelgateError(f"no project in the workspace has item {item_id!r}; name one: -p")


def trace(
    item_id: Annotated[str, typer.Argument(help="Item id.")], project: ProjectOpt = None
) -> None:
    """The item's whole history from the ledger."""
    try:
        spec = _find_project(item_id, project)
        result = trace_item(spec, item_id)
    except LabelgateError as exc:
        _fail(str(exc))
        return
    console.print(
        f"[bold]{literal(item_id)}[/] in project {spec.name}"
        + (" [red](erased)[/]" if result.erased else "")
    )
    for event in result.events:
        who = f" by {event.actor}" if event.actor else ""
        line = f"row {event.seq:>6}  {event.at[:19]}  {event.event}{who}: {describe(event)}"
        console.print(line, markup=False, highlight=False)
    for event in result.thresholds:
        line = f"admitted by the gate (row {event.seq}, run {event.run_id}): {describe(event)}"
        console.print(line, markup=False, highlight=False)
    for entry in result.label_sets:
        by = f", {entry['reviewer']}" if entry["reviewer"] else ""
        line = (
            f"in label set v{entry['version']} ({entry['status']}): {entry['label']} "
            f"({entry['source']}{by})"
        )
        console.print(line, markup=False, highlight=False)
    if not result.label_sets:
        console.print("in no label set")
    for event in result.models:
        console.print(f"model (row {event.seq}): {describe(event)}", markup=False)


def erase(
    item_id: Annotated[str, typer.Argument(help="Item id to erase.")],
    reason: Annotated[str, typer.Option(help="Why (e.g. the erasure request's reference).")],
    project: ProjectOpt = None,
    as_name: Annotated[str | None, typer.Option("--as", help="Who asks.")] = None,
) -> None:
    """Right to erasure: remove the item's content everywhere, record it in the ledger, keep
    it out of re-ingests and future label sets, mark models trained on it stale."""
    try:
        spec = _find_project(item_id, project)
        result = erase_item(spec, item_id, reason=reason, actor=as_name)
    except LabelgateError as exc:
        _fail(str(exc))
        return
    removed = ", ".join(f"{where}: {n}" for where, n in result.removed.items()) or "nothing stored"
    console.print(
        f"erased {item_id} from {spec.name} (ledger row {result.seq}); removed {removed}",
        markup=False,
    )
    if result.stale_models:
        console.print(f"models marked stale: {', '.join(result.stale_models)}", markup=False)


def register(app: typer.Typer) -> None:
    """Add the governance commands to the ``labelgate`` CLI."""
    app.command()(verify)
    app.command("label-sets")(label_sets)
    app.command()(approve)
    app.command()(reject)
    app.command()(sign)
    app.command()(keygen)
    app.command()(release)
    app.command()(trace)
    app.command()(erase)
