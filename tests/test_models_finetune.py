"""The full fine-tune of the local MiniLM as a sequence classifier (real model, tiny data:
on two shared CPU cores an epoch over 100 messages takes most of a minute)."""

import numpy as np
import pandas as pd
import pytest

from labelgate.embeddings import CachedEmbedder, HashingEncoder
from labelgate.ids import text_item_id
from labelgate.models.labeler import load_champion_labeler
from labelgate.models.registry import ModelRegistry
from labelgate.models.training import TrainingData, train_model
from labelgate.synth.bank_messages import generate_messages
from labelgate.text import normalize_text
from tests.conftest import ProjectFactory


@pytest.mark.slow
def test_finetuned_minilm_trains_saves_and_labels_as_champion(
    make_project: ProjectFactory,
) -> None:
    spec = make_project(
        training={
            "method": "finetune",
            "epochs": 2,
            "learning_rate": 2e-4,
            "batch_size": 8,
            "max_length": 32,
            "oof_folds": 2,
            "min_eval_items": 3,
            "eval_fraction": 0.25,
        }
    )
    messages = generate_messages(32, seed=9)
    messages["item_id"] = [text_item_id(normalize_text(t)) for t in messages["text"]]
    messages = messages.drop_duplicates("item_id").reset_index(drop=True)
    labels = pd.DataFrame(
        {
            "item_id": messages["item_id"],
            "label": messages["true_label"],
            "source": "human",
            "text": messages["text"],
        }
    )
    embedder = CachedEmbedder(HashingEncoder(), None)  # unused by finetune, kept for the API
    card, new = train_model(spec, TrainingData(1, "sha", labels), embedder, device="cpu")
    assert new and card.method == "finetune" and card.encoder.startswith("hf-")
    losses = card.training_log["epoch_loss"]
    assert len(losses) == 2 and losses[-1] < losses[0]  # every weight moved the loss down
    assert (ModelRegistry(spec).folder(card.model_id) / "hf" / "config.json").is_file()
    assert card.n_eval >= 3 and 0.0 <= card.metrics["accuracy"] <= 1.0
    labeler = load_champion_labeler(spec, card, embedder, device="cpu")
    output = labeler.predict(["x" * 16], ["Someone used my card for purchases I never made"])
    assert output.probs.shape == (1, len(spec.class_names))
    assert np.isclose(output.probs.sum(), 1.0) and labeler.scored == 1
    again, retrained = train_model(spec, TrainingData(1, "sha", labels), embedder, device="cpu")
    assert not retrained and again.model_id == card.model_id
