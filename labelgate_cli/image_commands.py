"""CLI commands for image projects (registered on the main app by ``register``)."""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from labelgate.errors import LabelgateError
from labelgate.governance.export import ExportResult, governed_export
from labelgate.images.export import export_accepted, image_export_frame
from labelgate.images.project import image_project_data
from labelgate.project import ACCEPTED_LABELS
from labelgate.spec import ProjectSpec
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


def export_image_table(spec: ProjectSpec, fmt: str, out: Path) -> ExportResult:
    """``labelgate export`` for an image project: accepted labels as a CSV / Parquet table
    (``image_export_frame``), recorded in the ledger. It holds no text for the PII policy to
    scan (file paths are not scanned: image ids such as COCO's look like phone numbers)."""
    if fmt not in ("csv", "parquet"):
        raise LabelgateError(
            f"{spec.name} is an image project: export it as csv or parquet here, or use "
            "`labelgate export-images --format labelstudio|coco|yolo`"
        )
    data = image_project_data(spec)
    if not data.tables.exists(ACCEPTED_LABELS):
        raise LabelgateError(f"project {spec.name} has no accepted labels yet: run it first")
    frame = image_export_frame(data.tables.read(ACCEPTED_LABELS), data.image_items())
    name = f"{spec.name}_accepted_labels"
    return governed_export(spec, frame, out, fmt, name, what="export", pii_column=None)  # type: ignore[arg-type]
