"""``labelgate models``: list the registry, train, promote a model, re-label with the champion."""

from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from labelgate.errors import LabelgateError
from labelgate.models.registry import ModelRegistry, RegistryError
from labelgate.models.training import TrainingError
from labelgate_cli.output import fail, literal
from labelgate_cli.projects import resolve_project

console = Console()
err = Console(stderr=True)
models_app = typer.Typer(
    help="Models distilled from approved labels: list, train, promote, relabel.",
    no_args_is_help=True,
)

ProjectArg = Annotated[str, typer.Argument(help="Project file (YAML) or project name.")]


class Encoder(StrEnum):
    minilm = "minilm"
    hashing = "hashing"


EncoderOpt = Annotated[
    Encoder, typer.Option(help="Text encoder: the local MiniLM, or a hashing encoder (tests).")
]


def _fail(message: str, code: int = 2) -> None:
    fail(message, code, console=err)


def _resources(encoder: Encoder):  # type: ignore[no-untyped-def]  # Dagster imports lazily
    from labelgate_cli.instance import get_instance
    from resources.encoder import TextEncoderResource

    return get_instance(), TextEncoderResource(kind=encoder.value)


@models_app.command("list")
def list_models(project: ProjectArg) -> None:
    """Every trained model with its label set, metrics and status."""
    try:
        spec = resolve_project(project)
        registry = ModelRegistry(spec)
        cards, champion = registry.list(), registry.champion()
    except (LabelgateError, RegistryError) as exc:
        _fail(str(exc))
        return
    if not cards:
        console.print(f"project {spec.name} has no trained models yet")
        return
    table = Table(title=f"models of {spec.name}")
    for column in ("model", "label set", "method", "train", "eval"):
        table.add_column(column)
    for column in ("accuracy | mAP50", "macro-F1 | mAP50-95"):
        table.add_column(column)
    table.add_column("status")
    for card in cards:
        status = "stale" if card.stale else ""
        if champion is not None and card.model_id == champion.model_id:
            status = "champion" + (" (stale)" if card.stale else "")
        table.add_row(
            card.model_id,
            f"v{card.label_set_version}",
            card.method,
            str(card.n_train),
            str(card.n_eval),
            *card_scores(card.metrics),
            status,
        )
    console.print(table)


@models_app.command("train")
def train(project: ProjectArg, encoder: EncoderOpt = Encoder.minilm) -> None:
    """Train on the latest approved label set, evaluate against the champion, promote if
    better (the project's train_model job)."""
    from labelgate_cli.model_runs import run_training

    try:
        spec = resolve_project(project)
        instance, resource = _resources(encoder)
        result = run_training(spec, instance=instance, encoder=resource)
    except (LabelgateError, TrainingError) as exc:
        _fail(str(exc))
        return
    console.print(training_summary(result.trained, result.evaluation, result.decision))


def card_scores(metrics: dict[str, Any]) -> tuple[str, str]:
    """A card's two headline scores: accuracy and macro-F1, or a detector's val mAP50 and
    mAP50-95."""
    if "val_map50" in metrics:
        return f"mAP50 {metrics['val_map50']:.3f}", f"mAP50-95 {metrics['val_map50_95']:.3f}"
    return f"{metrics['accuracy']:.3f}", f"{metrics['macro_f1']:.3f}"


def training_summary(
    trained: dict[str, Any], evaluation: dict[str, Any], decision: dict[str, Any]
) -> str:
    """One line on a training run: the model's held-out scores (mAP50 for a detector,
    macro-F1 and accuracy for a text classifier) and the promotion decision."""
    if "map50" in evaluation:
        map50 = evaluation["map50"]
        scores = "mAP50 " + ("undefined" if map50 is None or map50 < 0 else f"{map50:.3f}")
        unit = "images"
    else:
        scores = (
            f"macro-F1 {evaluation.get('macro_f1', 0):.3f}, accuracy "
            f"{evaluation.get('accuracy', 0):.3f}"
        )
        unit = "items"
    promoted = "promoted" if decision.get("promoted") else "not promoted"
    return (
        f"model [bold]{literal(trained.get('model_id'))}[/]: {scores} on "
        f"{evaluation.get('n_eval')} "
        f"held-out reviewed {unit}; {promoted} ({literal(decision.get('reason'))})"
    )


@models_app.command("promote")
def promote(
    project: ProjectArg,
    model_id: Annotated[str, typer.Argument(help="A model id from `labelgate models list`.")],
    encoder: EncoderOpt = Encoder.minilm,
) -> None:
    """Make a registered model the champion if it beats the current one (for a detector with
    none yet, the teacher) on the same split by the configured margin; the decision is
    recorded in the ledger either way."""
    from labelgate.build import embedding_cache_path
    from labelgate.embeddings import CachedEmbedder, EmbeddingCache
    from labelgate.models.loops import model_loop

    try:
        spec = resolve_project(project)
        if spec.training is None:
            raise LabelgateError(f"project {spec.name} has no training: section")
        _, resource = _resources(encoder)
        student = model_loop(
            spec,
            lambda: CachedEmbedder(resource.get(), EmbeddingCache(embedding_cache_path(spec))),
            device=resource.device,
        ).student
        if student is None:
            raise LabelgateError(f"project {spec.name} ({spec.modality}) trains no models")
        decision = student.decide(student.evaluate(model_id).frame)
    except (LabelgateError, RegistryError, TrainingError, ValueError) as exc:
        _fail(str(exc))
        return
    verb = "promoted" if decision.promote else "not promoted"
    console.print(f"{model_id} {verb}: {decision.reason}", markup=False)
    if not decision.promote and decision.reason != "already the champion":
        raise typer.Exit(1)


@models_app.command("relabel")
def relabel(project: ProjectArg, encoder: EncoderOpt = Encoder.minilm) -> None:
    """Re-label with the champion what it has not scored yet (as the schedule does)."""
    from labelgate_cli.model_runs import run_relabel

    try:
        spec = resolve_project(project)
        instance, resource = _resources(encoder)
        result = run_relabel(spec, instance=instance, encoder=resource)
    except LabelgateError as exc:
        _fail(str(exc))
        return
    if result.plan.champion is None:
        console.print(f"project {spec.name} has no champion yet: nothing to re-label with")
        return
    unit = "images" if spec.modality.startswith("image") else "items"
    console.print(
        f"champion {result.plan.champion}: {result.rescored} {unit} scored in "
        f"{len(result.churn)} batch(es), {result.flipped} labels flipped, "
        f"{result.sent_to_review} human labels sent back to review"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
