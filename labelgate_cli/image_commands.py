"""CLI commands for image projects (registered on the main app by ``register``)."""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from labelgate.errors import LabelgateError
from labelgate.images.export import export_accepted
from labelgate.images.project import image_project_data
from labelgate.project import ACCEPTED_LABELS
from labelgate_cli.output import fail, literal
from labelgate_cli.projects import resolve_project

console = Console()


class ImageExportFormat(StrEnum):
    coco = "coco"
    yolo = "yolo"
    labelstudio = "labelstudio"


def register(app: typer.Typer) -> None:
    @app.command("export-images")
    def export_images(
        project: Annotated[str, typer.Argument(help="Project file (YAML) or project name.")],
        format: Annotated[ImageExportFormat, typer.Option("--format", help="Output format.")],
        out: Annotated[Path, typer.Option("--out", help="Folder to write into.")],
        val_fraction: Annotated[
            float, typer.Option(min=0.0, max=0.95, help="YOLO: share of images in val.")
        ] = 0.2,
        seed: Annotated[int, typer.Option(help="YOLO: seed of the train/val split.")] = 0,
    ) -> None:
        """Export an image detection project's accepted boxes: COCO JSON, a YOLO dataset
        folder (data.yaml, deterministic train/val split) or Label Studio JSON."""
        try:
            data = image_project_data(resolve_project(project))
            if not data.detection:
                raise typer.BadParameter(f"{data.spec.name} is not an image_detection project")
            if not data.tables.exists(ACCEPTED_LABELS):
                raise LabelgateError(f"{data.spec.name} has no accepted labels yet: run it first")
            path = export_accepted(
                data.tables.read(ACCEPTED_LABELS),
                data.image_items(),
                data.spec.class_names,
                format.value,
                out,
                name=f"{data.spec.name}_accepted_labels",
                val_fraction=val_fraction,
                seed=seed,
            )
        except (LabelgateError, ValueError) as exc:
            fail(str(exc), 1)
        console.print(f"wrote the accepted boxes to [bold]{literal(path)}[/]")
