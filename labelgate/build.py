"""Build a project's labelers from its spec (models are loaded here, once per run)."""

from pathlib import Path

import pandas as pd

from labelgate.embeddings import CachedEmbedder, EmbeddingCache, TextEncoder
from labelgate.labelers.base import Labeler
from labelgate.labelers.contrastive import ContrastiveLabeler
from labelgate.labelers.embedding import EmbeddingLabeler
from labelgate.labelers.hf_classifier import HFClassifierLabeler
from labelgate.labelers.rules import RulesLabeler
from labelgate.models.labeler import CHAMPION_LABELER, champion_labeler
from labelgate.spec import (
    ContrastiveLabelerSpec,
    EmbeddingLabelerSpec,
    HFClassifierLabelerSpec,
    ProjectSpec,
    RulesLabelerSpec,
)


def embedding_cache_path(spec: ProjectSpec) -> Path:
    """Shared by the projects of one storage root: keys are (encoder version, content hash)."""
    return spec.storage / "_cache" / "embeddings.sqlite"


def _fit_on_reviews(
    labeler: EmbeddingLabeler | ContrastiveLabeler, reviewed: pd.DataFrame | None
) -> None:
    """Train a labeler that learns from reviews on ``reviewed``, where there are any."""
    if reviewed is not None and len(reviewed):
        labeler.fit(
            reviewed["item_id"].tolist(),
            reviewed["text"].tolist(),
            reviewed["label"].tolist(),
        )


def build_labelers(
    spec: ProjectSpec,
    *,
    encoder: TextEncoder,
    reviewed: pd.DataFrame | None = None,
    device: str = "auto",
    cache: EmbeddingCache | None = None,
) -> list[Labeler]:
    """``reviewed`` (item_id, label, text) trains few-shot heads where configured."""
    labelers: list[Labeler] = []
    embedder = CachedEmbedder(encoder, cache or EmbeddingCache(embedding_cache_path(spec)))
    for labeler_spec in spec.labelers:
        if isinstance(labeler_spec, RulesLabelerSpec):
            labelers.append(RulesLabeler(labeler_spec, spec.class_names))
        elif isinstance(labeler_spec, EmbeddingLabelerSpec):
            labeler = EmbeddingLabeler(
                labeler_spec,
                spec.classes,
                embedder,
                seed=spec.review.seed,
                model_dir=spec.project_dir / "models" / "few_shot",
            )
            _fit_on_reviews(labeler, reviewed)
            labelers.append(labeler)
        elif isinstance(labeler_spec, ContrastiveLabelerSpec):
            learner = ContrastiveLabeler(
                labeler_spec,
                spec.classes,
                cache=embedder.cache,
                seed=spec.review.seed,
                model_dir=spec.project_dir / "models" / "contrastive" / labeler_spec.name,
                device=device,
            )
            _fit_on_reviews(learner, reviewed)
            labelers.append(learner)
        elif isinstance(labeler_spec, HFClassifierLabelerSpec):
            labelers.append(HFClassifierLabeler(labeler_spec, spec.class_names, device=device))
    champion = champion_labeler(spec, embedder, device=device)  # the promoted model, if any
    if champion is not None:
        labelers.append(champion)
    return labelers


def labeler_roles(spec: ProjectSpec) -> dict[str, bool]:
    """Labeler name -> True for soft (probabilistic) sources, as the label model needs."""
    return {labeler.name: labeler.type != "rules" for labeler in spec.labelers} | {
        CHAMPION_LABELER: True
    }
