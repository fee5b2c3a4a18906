"""The image step of ``labelgate demo``: label street images, simulated review, gate, score.

Runs through the same Dagster jobs as ``labelgate run`` / ``review import`` on the given
instance. Uses ../shared/data (coco128 + COCO YOLOv8n) where present, else synthetic shapes
and a detector trained on them (offline, a few minutes on 2 CPU cores).
"""

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from rich.console import Console
from rich.table import Table

from labelgate.images.demo_data import DemoImages, prepare_real, prepare_synthetic
from labelgate.images.demo_review import BoxOutcome, score_outcome, simulate_box_reviews
from labelgate.images.project import ImageProjectData
from labelgate.images.spec import YoloLabelerSpec
from labelgate.project import ACCEPTED_LABELS
from labelgate.spec import ProjectSpec
from labelgate_cli.output import step_printer
from labelgate_cli.runner import import_reviews, publish, run_project
from resources.encoder import TextEncoderResource

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@dataclass
class ImageDemoReport:
    real: bool
    rounds: list[tuple[int, int, BoxOutcome]] = field(default_factory=list)


def _ontology(spec: ProjectSpec) -> dict[str, str]:
    detector = next(s for s in spec.labelers if isinstance(s, YoloLabelerSpec))
    return dict(detector.ontology)


def run_image_demo(
    spec: ProjectSpec,
    *,
    instance: dg.DagsterInstance,
    encoder: TextEncoderResource,
    shared: Path = SHARED_DATA,
    images: int = 128,
    batches: int = 4,
    rounds: int = 2,
    train_images: int = 96,
    train_epochs: int = 25,
    on_step: Callable[[str], None] = lambda _: None,
) -> ImageDemoReport:
    """Fill the project's demo folder, then label, review (simulated), gate, repeat."""
    demo_dir = spec.source.path.parent
    for folder in (demo_dir, spec.project_dir, spec.review.folder):
        shutil.rmtree(folder, ignore_errors=True)
    ontology = _ontology(spec)
    prepared: DemoImages | None = prepare_real(
        shared, demo_dir, ontology, images=images, batches=batches
    )
    if prepared is None:
        on_step("no ../shared/data: synthetic shapes, training a tiny detector (offline)")
        prepared = prepare_synthetic(
            demo_dir,
            ontology,
            images=images,
            batches=batches,
            train_images=train_images,
            train_epochs=train_epochs,
        )
    else:
        on_step(f"{images} coco128 images and the COCO YOLOv8n copied to {demo_dir}")
    data = ImageProjectData(spec)
    report = ImageDemoReport(real=prepared.real)
    imported = 0
    for number in range(rounds + 1):
        if number == 0:
            on_step("images round 0: labeling and gating")
            run_project(spec, instance=instance, encoder=encoder)
        else:  # reviews do not change a YOLO labeler's output: gate again, do not re-label
            on_step(f"images round {number}: gating with {imported} reviews")
            publish(spec, instance=instance, encoder=encoder)
        items = data.image_items()
        outcome = score_outcome(
            data.tables.read(ACCEPTED_LABELS),
            data.auto_labels(),
            items,
            prepared.truth,
            spec.class_names,
        )
        report.rounds.append((number, imported, outcome))
        if number == rounds:
            break
        answers = spec.review.folder / "answers" / f"round_{number + 1}.json"
        tasks = data.queue_dir / "label_studio_tasks.json"
        n = simulate_box_reviews(tasks, items, prepared.truth, answers)
        on_step(f"images round {number}: simulated reviewers drew {n} images' boxes")
        import_reviews(spec, [str(answers)], instance=instance, encoder=encoder)
        imported += n
    return report


def print_image_demo(report: ImageDemoReport, console: Console) -> None:
    kind = "coco128 + COCO YOLOv8n" if report.real else "synthetic shapes + trained YOLOv8n"
    table = Table(title=f"labelgate image demo ({kind}) · against the true boxes")
    for column in ("round", "reviews", "auto-accepted", "automation", "auto exact", "mAP50"):
        table.add_column(column, justify="right")
    for number, reviews, r in report.rounds:
        table.add_row(
            str(number),
            str(reviews),
            str(r.auto_accepted),
            f"{r.automation_rate:.1%}",
            "-" if r.auto_exact is None else f"{r.auto_exact:.1%}",
            "-" if r.auto_map50 is None else f"{r.auto_map50:.3f}",
        )
    console.print(table)


def demo_images_step(
    console: Console,
    instance: dg.DagsterInstance,
    encoder: TextEncoderResource,
    project: str = "projects/street_objects.yaml",
) -> None:
    """The step ``labelgate demo`` runs after the text demo."""
    from labelgate_cli.projects import on_project

    _, report = on_project(
        project,
        lambda spec: run_image_demo(
            spec, instance=instance, encoder=encoder, on_step=step_printer(console)
        ),
    )
    print_image_demo(report, console)
