"""The champion as a labeler: once a project has a champion, it labels like any other source.

Its version is the model id, so every candidate label says which model made it. Items the
model trained on get their out-of-fold probabilities (never an in-sample guess the gate would
trust too much); other items are scored once per model and cached by (model id, item id), so
re-labeling skips every item whose input and model are unchanged.
"""

from collections.abc import Sequence

import numpy as np

from labelgate.embeddings import CachedEmbedder, EmbeddingCache
from labelgate.labelers.base import LabelerOutput
from labelgate.models.classifier import TextClassifier, load_classifier
from labelgate.models.config import TrainingSpec
from labelgate.models.registry import ModelCard, ModelRegistry
from labelgate.models.training import base_version
from labelgate.spec import ProjectSpec

CHAMPION_LABELER = "champion"


class ChampionLabeler:
    soft = True
    name = CHAMPION_LABELER

    def __init__(
        self,
        card: ModelCard,
        model: TextClassifier,
        oof: dict[str, np.ndarray],
        scores: EmbeddingCache | None,
    ) -> None:
        self.card = card
        self.version = card.model_id
        self.model = model
        self.oof = oof
        self.scores = scores
        self.scored = 0  # items run through the model (not out-of-fold, not cached)
        self.reused = 0

    def predict(self, item_ids: Sequence[str], texts: Sequence[str]) -> LabelerOutput:
        k = len(self.card.classes)
        probs = np.empty((len(item_ids), k))
        out_of_fold = np.zeros(len(item_ids), dtype=bool)
        rest = []
        for row, item_id in enumerate(item_ids):
            if item_id in self.oof:
                probs[row] = self.oof[item_id]
                out_of_fold[row] = True
            else:
                rest.append(row)
        cached = self.scores.get(self.version, [item_ids[r] for r in rest]) if self.scores else {}
        missing = [r for r in rest if item_ids[r] not in cached]
        for r in rest:
            if item_ids[r] in cached:
                probs[r] = cached[item_ids[r]]
        if missing:
            fresh = self.model.predict_proba(
                [item_ids[r] for r in missing], [texts[r] for r in missing]
            )
            probs[missing] = fresh
            if self.scores is not None:
                self.scores.put(self.version, [item_ids[r] for r in missing], fresh)
        self.scored += len(missing)
        self.reused += len(rest) - len(missing)
        return LabelerOutput(self.name, self.version, probs, out_of_fold)


def score_cache(spec: ProjectSpec) -> EmbeddingCache:
    """Champion probabilities keyed by (model id, item id), float32 rows of length K."""
    return EmbeddingCache(spec.project_dir / "models" / "scores.sqlite")


def active_champion(spec: ProjectSpec) -> ModelCard | None:
    """The champion the project labels with: none without a training section, or when the
    champion was marked stale (it learned from erased items) until a new one is promoted."""
    if spec.training is None:
        return None
    card = ModelRegistry(spec).champion()
    return None if card is None or card.stale else card


def load_champion_labeler(
    spec: ProjectSpec, card: ModelCard, embedder: CachedEmbedder, *, device: str = "auto"
) -> ChampionLabeler:
    registry = ModelRegistry(spec)
    training = TrainingSpec.model_validate(
        {**card.hyperparameters, "relabel_cron": spec.training.relabel_cron}
    )
    if card.classes != spec.class_names:
        raise ValueError(
            f"champion {card.model_id} was trained on classes {card.classes}, the project now "
            f"has {spec.class_names}; train and promote a new model"
        )
    if base_version(training, embedder) != card.encoder:
        raise ValueError(
            f"champion {card.model_id} was trained on encoder {card.encoder}, this run embeds "
            f"with {base_version(training, embedder)}; use the same encoder or retrain"
        )
    model = load_classifier(
        registry.folder(card.model_id), training, spec.class_names, embedder, device=device
    )
    oof_frame = registry.oof(card.model_id)
    oof = {
        str(i): np.asarray(p, dtype=float)
        for i, p in zip(oof_frame["item_id"], oof_frame["probs"], strict=True)
    }
    return ChampionLabeler(card, model, oof, score_cache(spec))


def champion_labeler(
    spec: ProjectSpec, embedder: CachedEmbedder, *, device: str = "auto"
) -> ChampionLabeler | None:
    """The project's champion as a labeler, or None while it has none."""
    card = active_champion(spec)
    if card is None:
        return None
    if any(labeler.name == CHAMPION_LABELER for labeler in spec.labelers):
        raise ValueError(
            f"labeler name {CHAMPION_LABELER!r} is reserved for the promoted model; rename the "
            "project's labeler"
        )
    return load_champion_labeler(spec, card, embedder, device=device)
