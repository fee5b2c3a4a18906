"""Domain tests of the models package on small in-memory frames (hashing encoder)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labelgate.embeddings import CachedEmbedder, EmbeddingCache, HashingEncoder
from labelgate.errors import ProjectSpecError
from labelgate.ids import text_item_id
from labelgate.models.churn import compute_churn, label_state
from labelgate.models.config import TrainingSpec
from labelgate.models.labeler import load_champion_labeler
from labelgate.models.metrics import classification_metrics
from labelgate.models.promotion import decide
from labelgate.models.registry import ModelRegistry, RegistryError
from labelgate.models.split import in_eval_bucket
from labelgate.models.training import TrainingData, TrainingError, split_labels, train_model
from labelgate.spec import ProjectSpec
from labelgate.synth.bank_messages import generate_messages
from labelgate.text import normalize_text
from tests.conftest import ProjectFactory

CLASSES = ["a", "b", "c"]


@pytest.fixture
def spec(make_project: ProjectFactory) -> ProjectSpec:
    return make_project(training={"method": "head", "min_eval_items": 10, "oof_folds": 3})


@pytest.fixture
def labels() -> pd.DataFrame:
    """600 synthetic messages with their true labels; every third one human-reviewed."""
    messages = generate_messages(600, seed=3)
    messages["item_id"] = [text_item_id(normalize_text(t)) for t in messages["text"]]
    messages = messages.drop_duplicates("item_id").reset_index(drop=True)
    return pd.DataFrame(
        {
            "item_id": messages["item_id"],
            "label": messages["true_label"],
            "source": np.where(np.arange(len(messages)) % 3 == 0, "human", "auto"),
            "text": messages["text"],
        }
    )


def embedder(tmp_path: Path | None = None) -> CachedEmbedder:
    cache = EmbeddingCache(tmp_path / "emb.sqlite") if tmp_path else None
    return CachedEmbedder(HashingEncoder(), cache)


def test_eval_bucket_is_fixed_by_item_id_and_never_trained_on(labels: pd.DataFrame) -> None:
    training = TrainingSpec(eval_fraction=0.2)
    first = split_labels(labels, training)
    shuffled = split_labels(labels.sample(frac=1.0, random_state=1), training)
    assert list(first.evaluation["item_id"]) == list(shuffled.evaluation["item_id"])
    assert not set(first.train["item_id"]) & set(first.evaluation["item_id"])
    assert (first.evaluation["source"] == "human").all()
    # Auto-labelled items of the bucket are held out of training too.
    bucket = labels[in_eval_bucket(labels["item_id"], 0.2)]
    assert not set(bucket["item_id"]) & set(first.train["item_id"])
    assert first.held_out == len(bucket)
    assert 0.1 < len(bucket) / len(labels) < 0.3
    # A label set that grows keeps every earlier evaluation item in the bucket.
    grown = split_labels(pd.concat([labels, labels.assign(item_id=labels.item_id + "x")]), training)
    assert set(first.evaluation["item_id"]) <= set(grown.evaluation["item_id"])


def test_metrics_per_class_and_confusion() -> None:
    metrics = classification_metrics(["a", "a", "b", "c"], ["a", "b", "b", "c"], CLASSES)
    assert metrics.accuracy == 0.75
    assert metrics.precision["b"] == 0.5 and metrics.recall["a"] == 0.5
    assert metrics.confusion == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert metrics.macro_f1 == pytest.approx(np.mean([2 / 3, 2 / 3, 1.0]))
    with pytest.raises(ValueError, match="not project classes"):
        classification_metrics(["a"], ["z"], CLASSES)
    with pytest.raises(ValueError, match="empty evaluation split"):
        classification_metrics([], [], CLASSES)


def test_promotion_needs_the_margin_on_the_same_split() -> None:
    good = classification_metrics(["a", "b", "c", "a"], ["a", "b", "c", "a"], CLASSES)
    worse = classification_metrics(["a", "b", "c", "a"], ["a", "b", "c", "b"], CLASSES)
    first = decide("m1", worse, None, None, metric="macro_f1", margin=0.01)
    assert first.promote and first.reason == "no champion yet"
    assert decide("m2", good, "m1", worse, metric="macro_f1", margin=0.01).promote
    tie = decide("m2", worse, "m1", worse, metric="accuracy", margin=0.01)
    assert not tie.promote and "< champion" in tie.reason
    assert not decide(
        "m2", good, None, None, metric="accuracy", margin=0, challenger_stale=True
    ).promote
    other_split = classification_metrics(["a", "b"], ["a", "b"], CLASSES)
    with pytest.raises(ValueError, match="same split"):
        decide("m2", good, "m1", other_split, metric="accuracy", margin=0)


def test_train_registers_a_card_and_reuses_identical_inputs(
    spec: ProjectSpec, labels: pd.DataFrame, tmp_path: Path
) -> None:
    data = TrainingData(1, "sha-v1", labels)
    card, new = train_model(spec, data, embedder(tmp_path))
    assert new and card.label_set_version == 1 and card.method == "head"
    assert card.metrics["accuracy"] > 0.8 and card.n_eval >= 10
    assert card.hyperparameters["oof_folds"] == 3 and card.training_seconds > 0
    registry = ModelRegistry(spec)
    folder = registry.folder(card.model_id)
    assert json.loads((folder / "card.json").read_text())["label_set_hash"] == "sha-v1"
    assert not [p for p in registry.root.iterdir() if p.name.startswith(".")]  # no temp left
    trained_on = set(registry.train_items(card.model_id)["item_id"])
    assert len(trained_on) == card.n_train
    oof = registry.oof(card.model_id)
    assert set(oof["item_id"]) == trained_on
    again, new_again = train_model(spec, data, embedder(tmp_path))
    assert not new_again and again.model_id == card.model_id
    changed, _ = train_model(spec, TrainingData(2, "sha-v2", labels), embedder(tmp_path))
    assert changed.model_id != card.model_id
    assert [c.model_id for c in registry.list()] == [card.model_id, changed.model_id]


def test_training_refuses_too_small_an_evaluation_split(
    make_project: ProjectFactory, labels: pd.DataFrame
) -> None:
    spec = make_project(training={"min_eval_items": 10_000})
    with pytest.raises(TrainingError, match="min_eval_items"):
        train_model(spec, TrainingData(1, "x", labels), embedder())
    unknown = labels.assign(label=["nope"] * len(labels))
    with pytest.raises(TrainingError, match="unknown classes"):
        train_model(spec, TrainingData(1, "y", unknown), embedder())


def test_champion_labeler_serves_out_of_fold_and_caches_the_rest(
    spec: ProjectSpec, labels: pd.DataFrame, tmp_path: Path
) -> None:
    card, _ = train_model(spec, TrainingData(1, "sha", labels), embedder(tmp_path))
    registry = ModelRegistry(spec)
    registry.set_champion(card.model_id, evidence={"test": True})
    assert registry.champion().model_id == card.model_id
    labeler = load_champion_labeler(spec, card, embedder(tmp_path))
    trained = registry.train_items(card.model_id)["item_id"].tolist()[:5]
    fresh = ["f" * 16, "e" * 16]
    ids = trained + fresh
    texts = ["I was charged twice for the same order", "please block my stolen card"] * 3 + [""]
    output = labeler.predict(ids, texts[: len(ids)])
    assert output.version == card.model_id
    assert output.out_of_fold.tolist() == [True] * 5 + [False] * 2
    oof = registry.oof(card.model_id).set_index("item_id")["probs"]
    assert np.allclose(output.probs[0], oof[trained[0]])
    assert labeler.scored == 2
    again = load_champion_labeler(spec, card, embedder(tmp_path))
    repeat = again.predict(ids, texts[: len(ids)])
    assert again.scored == 0 and again.reused == 2  # the score cache answers
    assert np.allclose(repeat.probs, output.probs, atol=1e-6)


def test_stale_models_are_flagged_and_never_promoted(
    spec: ProjectSpec, labels: pd.DataFrame
) -> None:
    card, _ = train_model(spec, TrainingData(1, "sha", labels), embedder())
    registry = ModelRegistry(spec)
    item = registry.train_items(card.model_id)["item_id"].iloc[0]
    assert registry.mark_stale_for_items(["not-an-item"], "erased") == []
    assert registry.mark_stale_for_items([item], "item erased: GDPR-12") == [card.model_id]
    stale = registry.get(card.model_id)
    assert stale.stale and "GDPR-12" in stale.stale_reason
    assert registry.mark_stale_for_items([item], "again") == []  # already stale
    with pytest.raises(RegistryError, match="stale"):
        registry.set_champion(card.model_id, evidence={})
    with pytest.raises(RegistryError, match="no model"):
        registry.get("v9-head-missing")


def test_training_section_is_validated(make_project: ProjectFactory) -> None:
    with pytest.raises(ProjectSpecError, match="relabel_cron"):
        make_project(training={"relabel_cron": "every night"})
    with pytest.raises(ProjectSpecError, match=r"training\.method"):
        make_project(training={"method": "boost"})
    assert make_project(training={"relabel_cron": "@daily"}).training.relabel_cron == "@daily"
    assert make_project(training=None).training is None  # a project may train no models


def _state(labels: dict[str, str], champion: str, champion_votes: dict[str, str]) -> pd.DataFrame:
    auto = pd.DataFrame({"item_id": list(labels), "label": list(labels.values())})
    rows = []
    for item in labels:
        rows.append((item, "rules", "r1", "a" if item != "i3" else None))
        rows.append((item, "champion", champion, champion_votes[item]))
    candidates = pd.DataFrame(rows, columns=["item_id", "labeler", "labeler_version", "label"])
    return label_state(auto, candidates)


def test_churn_counts_flips_per_class_with_causes_and_sends_human_flips_to_review() -> None:
    before = _state({"i1": "a", "i2": "a", "i3": "b"}, "m1", {"i1": "a", "i2": "a", "i3": "b"})
    after = _state(
        {"i1": "a", "i2": "c", "i3": "c", "i4": "a"},
        "m2",
        {"i1": "a", "i2": "c", "i3": "c", "i4": "a"},
    )
    reviewed = pd.DataFrame({"item_id": ["i2", "i3"], "label": ["a", "c"]})
    churn = compute_churn("b1", before, after, reviewed, reported_at="2026-01-01T00:00:00+00:00")
    assert churn.flipped == 2 and churn.new_items == 1
    assert churn.rescored == 4  # three re-scored by m2 instead of m1, one new item
    assert churn.previous_champions == ["m1"]
    assert churn.flips_by_class() == {
        "a": {"lost": 1, "gained": 0},
        "b": {"lost": 1, "gained": 0},
        "c": {"lost": 0, "gained": 2},
    }
    assert churn.causes() == {"champion": 2}
    flips = churn.flips.set_index("item_id")
    assert flips.loc["i2", "to_review"]  # the human said a, the champion now says c
    assert not flips.loc["i3", "to_review"]  # the flip agrees with the human
    unchanged = compute_churn("b1", after, after, reviewed)
    assert unchanged.flipped == 0 and unchanged.rescored == 0
