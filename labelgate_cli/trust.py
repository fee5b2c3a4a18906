"""``labelgate identities`` commands: which identities file the project has in force."""

from typing import Annotated

import typer
from rich.console import Console

from labelgate.governance.identities_pin import accept_identities, current_pin
from labelgate.identities import identities_path
from labelgate.ledger import Ledger
from labelgate_cli.projects import ProjectArg, on_project

console = Console()

identities_app = typer.Typer(
    help="The identities file a project has in force (pinned in its ledger).",
    no_args_is_help=True,
)


@identities_app.command("show")
def show(project: ProjectArg) -> None:
    """The pinned identities file (SHA-256, ledger row, roster) and the configured one."""
    spec, pin = on_project(project, lambda spec: current_pin(Ledger.for_project(spec)))
    console.print(f"configured: {identities_path(spec) or '(none)'}")
    if pin is None:
        console.print("in force: nothing pinned yet (the first review import or decision pins)")
        return
    console.print(f"in force: SHA-256 {pin.sha256} ({pin.path}), ledger row {pin.seq}")
    for name, roles in sorted(pin.roster.items()):
        console.print(f"  {name}: {', '.join(roles) or '-'}")


@identities_app.command("accept")
def accept(
    project: ProjectArg,
    as_name: Annotated[
        str, typer.Option("--as", help="A steward of the identities file in force.")
    ],
) -> None:
    """Bring the configured identities file into force (a ledger event); only a steward of
    the file in force may."""
    spec, row = on_project(project, lambda spec: accept_identities(spec, actor=as_name))
    if row is None:
        console.print("the configured identities file is already the one in force")
        return
    console.print(
        f"identities file {row.payload['path']} (SHA-256 {row.payload['sha256'][:12]}) is now "
        f"in force for {spec.name} (ledger row {row.seq}, by {row.actor})"
    )


ledger_app = typer.Typer(help="The project's audit ledger.", no_args_is_help=True)


@ledger_app.command("adopt")
def adopt(
    project: ProjectArg,
    as_name: Annotated[str, typer.Option("--as", help="A steward of the project.")],
) -> None:
    """Bring a ledger written before signed anchors and chained commit markers / erasures
    under them (once; the chain and files must verify first)."""
    from labelgate.governance.adopt import adopt_ledger

    spec, row = on_project(project, lambda spec: adopt_ledger(spec, actor=as_name))
    console.print(
        f"adopted the ledger of {spec.name} at row {row.seq} ({row.payload['commit_markers']} "
        f"commit markers, {row.payload['erasures']} erasures chained; head anchored)"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(identities_app, name="identities")
    app.add_typer(ledger_app, name="ledger")
