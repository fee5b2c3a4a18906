"""Distill a label set into a model: split, train with out-of-fold predictions, evaluate, save.

Training data is the label set minus the evaluation bucket (``split.py``); the model is
scored on the bucket's human-reviewed items only. Every training item also gets an
out-of-fold probability (K-fold), which the champion labeler serves for that item, so no
confidence the gate or the evaluation sees comes from a model that learned the item's label.
"""

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from labelgate.embeddings import CachedEmbedder, default_minilm_path, model_folder_version
from labelgate.errors import LabelgateError
from labelgate.models.classifier import new_classifier, out_of_fold_proba
from labelgate.models.config import TrainingSpec
from labelgate.models.metrics import Metrics, classification_metrics
from labelgate.models.registry import OOF, TRAIN_ITEMS, ModelCard, ModelRegistry
from labelgate.models.split import in_eval_bucket
from labelgate.spec import ProjectSpec

# Bump when a change to this package changes what a given label set trains into.
TRAINING_CODE_VERSION = "1"
LABEL_COLUMNS = ("item_id", "label", "source", "text")


class TrainingError(LabelgateError, ValueError):
    """The label set cannot train or evaluate a model (too few items, unknown classes ...)."""


@dataclass(frozen=True)
class TrainingData:
    """One label set's labels with the items' text (``item_id, label, source, text``)."""

    label_set_version: int
    label_set_hash: str
    labels: pd.DataFrame


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    evaluation: pd.DataFrame  # human-reviewed items of the evaluation bucket
    held_out: int  # items of the bucket (auto or human) left out of training


def split_labels(labels: pd.DataFrame, training: TrainingSpec) -> Split:
    missing = [c for c in LABEL_COLUMNS if c not in labels.columns]
    if missing:
        raise TrainingError(f"label set lacks column(s) {missing}")
    labels = labels.drop_duplicates("item_id", keep="last").sort_values("item_id")
    bucket = in_eval_bucket(labels["item_id"], training.eval_fraction)
    human = (labels["source"] == "human").to_numpy()
    return Split(
        train=labels[~bucket].reset_index(drop=True),
        evaluation=labels[bucket & human].reset_index(drop=True),
        held_out=int(bucket.sum()),
    )


def base_version(training: TrainingSpec, embedder: CachedEmbedder) -> str:
    """What the model starts from: the embedding encoder (head) or the base weights."""
    if training.method == "head":
        return embedder.encoder.version
    base = Path(training.base_model) if training.base_model else default_minilm_path()
    return f"hf-{model_folder_version(base)}"


def fingerprint(spec: ProjectSpec, data: TrainingData, base: str) -> str:
    payload = {
        "label_set": data.label_set_hash,
        "training": spec.training.model_dump(mode="json", exclude={"relabel_cron", "drift"}),
        "classes": spec.class_names,
        "base": base,
        "code": TRAINING_CODE_VERSION,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def evaluate(model, evaluation: pd.DataFrame, class_names: list[str]) -> tuple[Metrics, np.ndarray]:
    """Metrics of ``model`` on the evaluation split, and its (N, K) probabilities."""
    probs = model.predict_proba(evaluation["item_id"].tolist(), evaluation["text"].tolist())
    predicted = [class_names[i] for i in probs.argmax(axis=1)]
    return classification_metrics(evaluation["label"].tolist(), predicted, class_names), probs


def train_model(
    spec: ProjectSpec,
    data: TrainingData,
    embedder: CachedEmbedder,
    *,
    device: str = "auto",
    registry: ModelRegistry | None = None,
) -> tuple[ModelCard, bool]:
    """Train (or find, when the same inputs were trained before) the model of a label set.

    Returns the card and whether a new model was trained.
    """
    training = spec.training
    if training is None:
        raise TrainingError(f"project {spec.name} has no training: section")
    registry = registry or ModelRegistry(spec)
    base = base_version(training, embedder)
    print_ = fingerprint(spec, data, base)
    existing = registry.by_fingerprint(print_)
    if existing is not None:
        return existing, False

    unknown = sorted(set(data.labels["label"]) - set(spec.class_names))
    if unknown:
        raise TrainingError(f"label set v{data.label_set_version} has unknown classes {unknown}")
    split = split_labels(data.labels, training)
    needed = training.eval_minimum(len(data.labels))
    if len(split.evaluation) < needed:
        raise TrainingError(
            f"label set v{data.label_set_version}: only {len(split.evaluation)} human-reviewed "
            f"items in the evaluation bucket (need {needed}: training.min_eval_items, "
            f"{_minimum_source(training)}); review more items or raise training.eval_fraction"
        )
    if split.train["label"].nunique() < 2:
        raise TrainingError(f"label set v{data.label_set_version}: fewer than 2 classes to train")

    started = time.perf_counter()
    ids, texts = split.train["item_id"].tolist(), split.train["text"].tolist()
    labels = split.train["label"].tolist()
    oof = out_of_fold_proba(
        training, spec.class_names, embedder, ids, texts, labels,
        folds=training.oof_folds, device=device,
    )  # fmt: skip
    model = new_classifier(training, spec.class_names, embedder, device=device)
    model.fit(ids, texts, labels)
    metrics, _ = evaluate(model, split.evaluation, spec.class_names)
    seconds = time.perf_counter() - started

    card = ModelCard(
        model_id=f"v{data.label_set_version}-{training.method}-{print_[:8]}",
        project=spec.name,
        method=training.method,
        label_set_version=data.label_set_version,
        label_set_hash=data.label_set_hash,
        hyperparameters=training.model_dump(mode="json", exclude={"relabel_cron", "drift"}),
        encoder=base,
        classes=spec.class_names,
        n_train=len(split.train),
        n_train_human=int((split.train["source"] == "human").sum()),
        n_eval=len(split.evaluation),
        metrics=metrics.to_dict(),
        training_seconds=round(seconds, 3),
        trained_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        fingerprint=print_,
        training_log={"epoch_loss": list(getattr(model, "epoch_loss", []))},
    )

    def build(folder: Path) -> None:
        model.save(folder)
        split.train[["item_id", "label", "source"]].to_parquet(folder / TRAIN_ITEMS, index=False)
        pd.DataFrame({"item_id": ids, "probs": list(oof)}).to_parquet(folder / OOF, index=False)

    return registry.add(card, build), True


def _minimum_source(training: TrainingSpec) -> str:
    """Where the evaluation minimum comes from, for error messages."""
    if training.min_eval_items is not None:
        return "set in the project file"
    return (
        f"scaled to the label set: a quarter of eval_fraction={training.eval_fraction} of its "
        "items, 5 to 20"
    )
