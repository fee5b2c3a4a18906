"""Resolve the PROJECT argument: a project file, or the name of one in the projects folder."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from labelgate.errors import LabelgateError
from labelgate.review.budget import calibration_warnings
from labelgate.spec import ProjectSpec, load_project
from labelgate_cli.output import fail

ProjectArg = Annotated[str, typer.Argument(help="Project file (YAML) or project name.")]
T = TypeVar("T")


def resolve_project(argument: str) -> ProjectSpec:
    """The project, after printing (to stderr) any warning about its review plan."""
    spec = _find_project(argument)
    for warning in calibration_warnings(spec.review, spec.gate):
        typer.echo(f"warning: {warning}", err=True)
    return spec


def on_project(argument: str, action: Callable[[ProjectSpec], T]) -> tuple[ProjectSpec, T]:
    """The project and what ``action`` returns for it; a :class:`LabelgateError` from either
    ends the command with ``error: <message>`` on stderr (exit code 2)."""
    try:
        spec = resolve_project(argument)
        return spec, action(spec)
    except LabelgateError as exc:
        fail(str(exc))


def workspace_projects() -> Iterator[ProjectSpec]:
    """Every project of the workspace's projects folder that loads (others are skipped)."""
    # Imported here: loading pipelines.definitions builds every project's Dagster definitions,
    # which a command naming its project file (``labelgate run x.yaml``) never needs.
    from pipelines.definitions import project_files

    for path in project_files():
        try:
            yield load_project(path)
        except LabelgateError:
            continue


def _find_project(argument: str) -> ProjectSpec:
    path = Path(argument)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        return load_project(path)
    for spec in workspace_projects():
        if spec.name == argument:
            return spec
    from pipelines.definitions import project_files

    raise typer.BadParameter(
        f"{argument!r} is neither a project file nor the name of a project in "
        f"{', '.join(str(p) for p in project_files())}"
    )
