"""The model steps a project runs, shared by the Dagster assets, the CLI and the demo:
train on the latest approved label set, evaluate challenger and champion on the same split,
promote or not. Each step is recorded in the project's audit ledger."""

import hashlib
from dataclasses import dataclass

import pandas as pd

from labelgate.embeddings import CachedEmbedder
from labelgate.label_sets import LabelSet, LabelSetStore
from labelgate.ledger import Ledger
from labelgate.ledger.events import MODEL_NOT_PROMOTED, MODEL_PROMOTED, MODEL_TRAINED
from labelgate.models.classifier import load_classifier
from labelgate.models.config import TrainingSpec
from labelgate.models.metrics import Metrics
from labelgate.models.promotion import Decision, decide
from labelgate.models.registry import ModelCard, ModelRegistry
from labelgate.models.training import TrainingData, TrainingError, evaluate, split_labels
from labelgate.models.training import train_model as _train
from labelgate.project import ProjectData
from labelgate.spec import ProjectSpec

ACTOR = "labelgate.models"


def training_data(spec: ProjectSpec, label_set: LabelSet) -> TrainingData:
    """A label set's labels joined to the items' text."""
    labels = label_set.labels()
    texts = ProjectData(spec).texts(labels["item_id"])
    joined = labels[["item_id", "label", "source"]].merge(texts, on="item_id", how="inner")
    lost = len(labels) - len(joined)
    if lost:
        raise TrainingError(
            f"label set v{label_set.version}: {lost} labelled item(s) have no text in raw_items"
        )
    digest = label_set.manifest.get("content_sha256") or f"v{label_set.version}"
    return TrainingData(label_set.version, str(digest), joined)


def latest_approved(
    spec: ProjectSpec,
    *,
    rule: str = "models train on approved label sets only (approve one with the governance "
    "commands first)",
) -> LabelSet:
    """The newest approved label set; with none yet, a TrainingError that states ``rule``."""
    label_set = LabelSetStore(spec).latest(status="approved")
    if label_set is None:
        raise TrainingError(f"project {spec.name} has no approved label set yet; {rule}")
    return label_set


@dataclass(frozen=True)
class Trained:
    card: ModelCard
    new: bool


def train_latest(
    spec: ProjectSpec,
    embedder: CachedEmbedder,
    *,
    device: str = "auto",
    run_id: str | None = None,
) -> Trained:
    """Train on the latest approved label set (a no-op when that exact model exists)."""
    label_set = latest_approved(spec)
    card, new = _train(spec, training_data(spec, label_set), embedder, device=device)
    if new:
        Ledger.for_project(spec).append(
            MODEL_TRAINED,
            {
                "model_id": card.model_id,
                "label_set_version": card.label_set_version,
                "label_set_sha256": card.label_set_hash,
                "method": card.method,
                "hyperparameters": card.hyperparameters,
                "n_train": card.n_train,
                "n_eval": card.n_eval,
                "accuracy": card.metrics["accuracy"],
                "macro_f1": card.metrics["macro_f1"],
                "training_seconds": card.training_seconds,
            },
            run_id=run_id,
            actor=ACTOR,
            dedup_key=f"model_trained:{card.model_id}",
        )
    return Trained(card, new)


def _training_spec(spec: ProjectSpec, card: ModelCard) -> TrainingSpec:
    return TrainingSpec.model_validate(
        {**card.hyperparameters, "relabel_cron": spec.training.relabel_cron}
    )


def evaluation_split(spec: ProjectSpec, card: ModelCard) -> pd.DataFrame:
    """The human-reviewed evaluation items of the label set ``card`` trained on."""
    data = training_data(spec, LabelSetStore(spec).get(card.label_set_version))
    return split_labels(data.labels, spec.training).evaluation


def score_model(
    spec: ProjectSpec,
    card: ModelCard,
    evaluation: pd.DataFrame,
    embedder: CachedEmbedder,
    *,
    device: str = "auto",
) -> Metrics:
    registry = ModelRegistry(spec)
    model = load_classifier(
        registry.folder(card.model_id),
        _training_spec(spec, card),
        spec.class_names,
        embedder,
        device=device,
    )
    return evaluate(model, evaluation, spec.class_names)[0]


@dataclass(frozen=True)
class Evaluation:
    challenger: ModelCard
    metrics: Metrics
    champion: ModelCard | None
    champion_metrics: Metrics | None
    split_sha256: str  # items_hash of the evaluation split both models were scored on


def evaluate_challenger(
    spec: ProjectSpec, model_id: str, embedder: CachedEmbedder, *, device: str = "auto"
) -> Evaluation:
    """Score the challenger and the current champion on the challenger's evaluation split."""
    registry = ModelRegistry(spec)
    card = registry.get(model_id)
    split = evaluation_split(spec, card)
    metrics = score_model(spec, card, split, embedder, device=device)
    champion = registry.champion()
    champion_metrics = None
    if champion is not None and champion.model_id != model_id:
        champion_metrics = score_model(spec, champion, split, embedder, device=device)
    return Evaluation(card, metrics, champion, champion_metrics, items_hash(split["item_id"]))


def decide_promotion(
    spec: ProjectSpec, evaluation: Evaluation, *, run_id: str | None = None
) -> Decision:
    """Champion/challenger; the decision and its evidence go to the ledger and the card.

    Re-deciding for the model that already is the champion records nothing.
    """
    challenger, champion = evaluation.challenger, evaluation.champion
    if champion is not None and champion.model_id == challenger.model_id:
        champion_metrics: Metrics | None = evaluation.metrics
    else:
        champion_metrics = evaluation.champion_metrics
    decision = decide(
        challenger.model_id,
        evaluation.metrics,
        champion.model_id if champion else None,
        champion_metrics,
        metric=spec.training.promotion_metric,
        margin=spec.training.promotion_margin,
        challenger_stale=challenger.stale,
    )
    if decision.reason == "already the champion":
        return decision
    evidence = {
        **decision.to_dict(),
        "label_set_version": challenger.label_set_version,
        "challenger_metrics": evaluation.metrics.to_dict(),
        "champion_metrics": champion_metrics.to_dict() if champion_metrics else None,
        "eval_items_sha256": evaluation.split_sha256,
    }
    registry = ModelRegistry(spec)
    if decision.promote:
        registry.set_champion(challenger.model_id, evidence=evidence)
    else:
        registry.note(challenger.model_id, {"event": "not_promoted", "reason": decision.reason})
    Ledger.for_project(spec).append(
        MODEL_PROMOTED if decision.promote else MODEL_NOT_PROMOTED,
        evidence,
        run_id=run_id,
        actor=ACTOR,
        dedup_key=f"promotion:{challenger.model_id}:{decision.champion}",
    )
    return decision


def items_hash(item_ids: pd.Series) -> str:
    """SHA-256 of the sorted item ids: shows two evaluations used the same split."""
    return hashlib.sha256("\n".join(sorted(map(str, item_ids))).encode()).hexdigest()
