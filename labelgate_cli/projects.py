"""Resolve the PROJECT argument: a project file, or the name of one in the projects folder."""

from pathlib import Path

import typer

from labelgate.errors import LabelgateError
from labelgate.review.budget import calibration_warnings
from labelgate.spec import ProjectSpec, load_project
from pipelines.definitions import project_files


def resolve_project(argument: str) -> ProjectSpec:
    """The project, after printing (to stderr) any warning about its review plan."""
    spec = _find_project(argument)
    for warning in calibration_warnings(spec.review, spec.gate):
        typer.echo(f"warning: {warning}", err=True)
    return spec


def _find_project(argument: str) -> ProjectSpec:
    path = Path(argument)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        return load_project(path)
    for candidate in project_files():
        try:
            spec = load_project(candidate)
        except LabelgateError:
            continue
        if spec.name == argument:
            return spec
    raise typer.BadParameter(
        f"{argument!r} is neither a project file nor the name of a project in "
        f"{', '.join(str(p) for p in project_files())}"
    )
