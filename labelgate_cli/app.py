"""labelgate: auto-labeling with a statistical gate, orchestrated by Dagster."""

import shutil
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from labelgate.errors import LabelgateError, ReviewFileError
from labelgate.images.project import project_data, source_batch_keys
from labelgate.project import REVIEW_QUEUE, ProjectData
from labelgate.run_plan import encoder_id, up_to_date
from labelgate.status import ProjectStatus, project_status
from labelgate_cli.governance import register as register_governance
from labelgate_cli.image_commands import register as register_image_commands
from labelgate_cli.instance import get_instance
from labelgate_cli.models import register as register_models
from labelgate_cli.output import fail, literal, redaction_line, step_printer
from labelgate_cli.projects import resolve_project
from labelgate_cli.trust import register as register_trust

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
review_app = typer.Typer(
    help="Exchange the review queue with human reviewers.", no_args_is_help=True
)
app.add_typer(review_app, name="review")
console = Console()
err = Console(stderr=True)

ProjectArg = Annotated[str, typer.Argument(help="Project file (YAML) or project name.")]


class Encoder(StrEnum):
    minilm = "minilm"
    hashing = "hashing"


class ExportFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"
    labelstudio = "labelstudio"


class ExportStatus(StrEnum):
    accepted = "accepted"
    all = "all"
    queued = "queued"
    pending = "pending"


class QueueFormat(StrEnum):
    csv = "csv"
    labelstudio = "labelstudio"


EncoderOpt = Annotated[
    Encoder, typer.Option(help="Text encoder: the local MiniLM, or a hashing encoder (tests).")
]


def _fail(message: str) -> None:
    fail(message, 2, console=err)


def _encoder(kind: Encoder):  # type: ignore[no-untyped-def]  # resources import Dagster lazily
    from resources.encoder import TextEncoderResource

    return TextEncoderResource(kind=kind.value)


def status_table(status: ProjectStatus) -> Table:
    table = Table(title=f"labelgate · {literal(status.project)}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    gate = status.gate
    rows = [
        ("batches", status.batches),
        ("items", status.items),
        ("quarantined rows", status.quarantined),
        ("auto-labeled", status.auto_labeled),
        ("human-reviewed", f"{status.reviewed} ({status.calibration_reviews} calibration)"),
        ("waiting in review queue", status.queued_for_review),
        ("auto-accepted", status.auto_accepted),
        ("accepted labels", status.accepted),
        ("automation rate", f"{status.automation_rate:.1%}"),
    ]
    if gate is not None:
        rows += [
            ("target accuracy", f"{gate.target:.1%} at {gate.confidence_level:.0%} confidence"),
            (
                "gate threshold",
                "none (nothing auto-accepted)"
                if gate.threshold is None
                else f"{gate.threshold:.4f}",
            ),
            (
                "calibration accuracy of accepted",
                "-" if gate.accuracy is None else f"{gate.accuracy:.2%}",
            ),
            ("lower bound", "-" if gate.lower_bound is None else f"{gate.lower_bound:.2%}"),
            ("reviews still needed", gate.reviews_needed),
        ]
    rows += power_rows(status)
    for name, value in rows:
        table.add_row(name, literal(value))
    if gate is not None and gate.reason:
        table.caption = literal(gate.reason)
    for warning in status.warnings:
        table.caption = f"{table.caption or ''}\nwarning: {literal(warning)}".strip()
    return table


def power_rows(status: ProjectStatus) -> list[tuple[str, str]]:
    """The power curve: expected automation after more random calibration reviews."""
    rows = [("planned calibration sample", str(status.planned_calibration))]
    for point in status.power:
        rows.append(
            (
                f"expected automation after +{point.extra_reviews} calibration reviews",
                f"{point.expected_automation:.1%} auto, {point.expected_labeled:.1%} labeled "
                f"(gate passes in {point.pass_probability:.0%})",
            )
        )
    return rows


@app.command()
def run(
    project: ProjectArg,
    encoder: EncoderOpt = Encoder.minilm,
    force: Annotated[
        bool, typer.Option(help="Label every batch again, even those unchanged since last run.")
    ] = False,
) -> None:
    """Materialize the project's asset graph against the configured instance (in-process, or
    on Celery workers with LABELGATE_EXECUTOR=celery)."""
    try:
        spec = resolve_project(project)
        if not force and up_to_date(spec, encoder=encoder_id(encoder.value)):
            # Nothing changed since the last run: no Dagster run, not even an import of it.
            console.print(f"{spec.name}: no batch changed since the last run; nothing to do")
            console.print(status_table(project_status(project_data(spec))))
            return
        from labelgate_cli.runner import run_project  # imports Dagster and every asset

        batches = source_batch_keys(spec)
        instance = get_instance()
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task(f"labeling {spec.name}", total=len(batches))
            summary = run_project(
                spec,
                instance=instance,
                encoder=_encoder(encoder),
                on_batch=lambda key: progress.advance(task),
                force=force,
            )
        if not summary.batches and not summary.skipped:
            _fail(f"no source files in {spec.source.path}")
        console.print(status_table(project_status(project_data(spec))))
    except LabelgateError as exc:
        _fail(str(exc))


@app.command()
def status(project: ProjectArg) -> None:
    """Counts, automation rate, the accuracy bound and how many reviews are still needed."""
    try:
        console.print(status_table(project_status(project_data(resolve_project(project)))))
    except LabelgateError as exc:
        _fail(str(exc))


@app.command("export")
def export_labels(
    project: ProjectArg,
    format: Annotated[ExportFormat, typer.Option("--format", help="Output format.")] = (
        ExportFormat.csv
    ),
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder to write into (default: the project's exports/)."),
    ] = None,
    status: Annotated[
        ExportStatus,
        typer.Option(
            "--status",
            help="accepted: the accepted labels; all: every item with its proposed label and "
            "its status (accepted, queued, pending); queued or pending: only those items.",
        ),
    ] = ExportStatus.accepted,
    all_items: Annotated[
        bool, typer.Option("--all", help="Same as --status all.", show_default=False)
    ] = False,
) -> None:
    """Export labels with their text (image projects: the image path) and your own ids
    (source_id): the accepted labels, or the proposed labels of all items with their status.
    CSV by default."""
    from labelgate_cli.export_command import export_selection

    try:
        spec = resolve_project(project)
        chosen = ExportStatus.all if all_items else status
        result, counts = export_selection(spec, chosen.value, format.value, out)  # type: ignore[arg-type]
        shown = ", ".join(f"{k}: {v}" for k, v in counts.items())
        console.print(
            f"wrote {result.rows} labels ({literal(shown)}) to [bold]{literal(result.path)}[/]"
        )
        console.print(redaction_line(result.redactions), markup=False, highlight=False)
    except LabelgateError as exc:
        _fail(str(exc))


@review_app.command("export")
def review_export(
    project: ProjectArg,
    out: Annotated[Path, typer.Option("--out", help="Folder to copy the queue files into.")],
    format: Annotated[QueueFormat, typer.Option("--format")] = QueueFormat.csv,
) -> None:
    """Write the current review queue for reviewers (CSV, or Label Studio tasks + config)."""
    try:
        data = ProjectData(resolve_project(project))
        if not data.tables.exists(REVIEW_QUEUE):
            _fail(f"project {data.spec.name} has no review queue yet: run it first")
        names = (
            ["review_queue.csv"]
            if format is QueueFormat.csv
            else ["label_studio_tasks.json", "label_studio_tasks.label_config.xml"]
        )
        out.mkdir(parents=True, exist_ok=True)
        for name in names:
            source = data.queue_dir / name
            if not source.is_file():
                _fail(f"queue file {source} is missing: run the project again")
            shutil.copyfile(source, out / name)
            console.print(f"wrote [bold]{literal(out / name)}[/]")
        queue = data.tables.read(REVIEW_QUEUE)
        console.print(
            f"{len(queue)} items to review "
            f"({int((queue['purpose'] == 'calibration').sum())} calibration)"
        )
    except LabelgateError as exc:
        _fail(str(exc))


@review_app.command("import")
def review_import(
    project: ProjectArg,
    files: Annotated[
        list[Path],
        typer.Argument(
            help="CSV (item_id,label,reviewer) or Label Studio JSON export files; for image "
            "detection also YOLO-txt folders and COCO JSON files."
        ),
    ],
    encoder: EncoderOpt = Encoder.minilm,
    reviewer: Annotated[
        str | None,
        typer.Option(
            "--reviewer",
            help="Who made the answers, for files that do not say (YOLO-txt folders, COCO "
            "JSON): an identity, never a folder name.",
        ),
    ] = None,
) -> None:
    """Import review decisions; a file with any bad row is refused whole."""
    from labelgate_cli.runner import import_reviews

    try:
        spec = resolve_project(project)
        for file in files:
            if not file.exists():
                _fail(f"review file {file} does not exist")
        import_reviews(
            spec,
            [str(f) for f in files],
            instance=get_instance(),
            encoder=_encoder(encoder),
            reviewer=reviewer,
        )
        reviewed = project_data(spec).reviewed()
        console.print(
            f"imported; {len(reviewed)} items now have a human decision. "
            f"Run [bold]labelgate run {literal(project)}[/] to re-label and re-gate."
        )
    except ReviewFileError as exc:
        _fail(str(exc))
    except LabelgateError as exc:
        _fail(str(exc))


@app.command()
def demo(
    project: ProjectArg = "projects/complaints.yaml",
    messages: Annotated[int, typer.Option(min=50, help="Synthetic messages to generate.")] = 5000,
    rounds: Annotated[int, typer.Option(min=0, help="Simulated human review rounds.")] = 2,
    error_rate: Annotated[
        float, typer.Option(min=0.0, max=0.5, help="Share of simulated reviews that are wrong.")
    ] = 0.02,
    seed: int = 0,
    encoder: EncoderOpt = Encoder.minilm,
    images: Annotated[
        bool, typer.Option(help="Also run the image project (projects/street_objects.yaml).")
    ] = True,
) -> None:
    """Generate a synthetic bank-message corpus and run the full loop with simulated reviewers."""
    from labelgate_cli.demo import run_demo

    try:
        spec = resolve_project(project)
        report = run_demo(
            spec,
            instance=get_instance(),
            encoder=_encoder(encoder),
            messages=messages,
            rounds=rounds,
            error_rate=error_rate,
            seed=seed,
            on_step=step_printer(console),
        )
    except LabelgateError as exc:
        _fail(str(exc))
        return
    table = Table(title="labelgate demo · against the generator's truth")
    for column in (
        "round",
        "reviews",
        "auto-accepted",
        "automation",
        "auto accuracy",
        "human accuracy",
    ):
        table.add_column(column, justify="right")
    for item in report.rounds:
        r = item.result
        table.add_row(
            str(item.round),
            str(item.reviews_imported),
            str(r.auto_accepted),
            f"{r.automation_rate:.1%}",
            "-" if r.auto_accuracy is None else f"{r.auto_accuracy:.2%}",
            "-" if r.human_accuracy is None else f"{r.human_accuracy:.2%}",
        )
    console.print(status_table(project_status(ProjectData(spec))))
    console.print(table)
    if images:
        from labelgate_cli.image_demo import demo_images_step

        demo_images_step(console, get_instance(), _encoder(encoder))
    console.print(
        f"Dagster UI on the same instance: [bold]make ui[/] (DAGSTER_HOME="
        f"{literal(get_instance().root_directory)})"
    )


register_governance(app)  # verify, label-sets, approve, reject, release, trace, erase
register_trust(app)  # identities show / accept (issue 12)
register_image_commands(app)  # export-images
register_models(app)  # models list, train, promote, relabel

if __name__ == "__main__":
    app()
