"""The contrastive labeler: SupCon fine-tuning, cross-fitting, caching, and the YAML type.

Fast tests use a tiny random BERT written to a temp folder (or a fake encoder that memorises
its training texts); the one real test, marked slow, fine-tunes the shipped MiniLM.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labelgate import contrastive
from labelgate.build import build_labelers, labeler_roles
from labelgate.contrastive import (
    ContrastiveOptions,
    class_balanced_batches,
    supervised_contrastive_loss,
)
from labelgate.embeddings import EmbeddingCache, HashingEncoder
from labelgate.ids import text_item_id
from labelgate.labelers import contrastive as contrastive_labeler
from labelgate.labelers.contrastive import ContrastiveLabeler
from labelgate.spec import ClassSpec, ContrastiveLabelerSpec, parse_project
from tests.bank_corpus import CLASSES, FILLER, NAMES, WORDS, messages


def corpus(per_class: int, seed: int = 0, tag: str = "ref") -> tuple[list[str], list[str]]:
    """``per_class`` messages of every class, tagged ``{tag}{i}``."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for label in NAMES:
        texts += messages(label, per_class, rng, tag)
        labels += [label] * per_class
    return texts, labels


def ids_of(texts: Sequence[str]) -> list[str]:
    return [text_item_id(t) for t in texts]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide random BERT with a word-level vocabulary of the test corpus."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny_bert")
    words = sorted({w for ws in WORDS.values() for w in ws} | set(FILLER))
    words += [f"{tag}{i}" for tag in ("ref", "new") for i in range(40)]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}).save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64,
    )  # fmt: skip
    BertModel(config).save_pretrained(folder)
    return folder


def spec(**options: object) -> ContrastiveLabelerSpec:
    return ContrastiveLabelerSpec(type="contrastive", **options)  # type: ignore[arg-type]


# --- the loss and the batches ----------------------------------------------------------------


def test_supervised_contrastive_loss_rewards_same_class_neighbours() -> None:
    import torch

    targets = torch.tensor([0, 0, 1, 1])
    clustered = torch.nn.functional.normalize(
        torch.tensor([[1.0, 0.05], [1.0, -0.05], [0.05, 1.0], [-0.05, 1.0]]), dim=1
    )
    mixed = clustered[[0, 2, 1, 3]]  # same points, classes crossed
    good = supervised_contrastive_loss(clustered, targets, 0.1)
    bad = supervised_contrastive_loss(mixed, targets, 0.1)
    assert good is not None and bad is not None and float(good) < float(bad) - 1.0
    assert supervised_contrastive_loss(clustered, torch.tensor([0, 1, 2, 3]), 0.1) is None


def test_batches_are_class_balanced_and_cover_the_epochs() -> None:
    labels = ["a"] * 10 + ["b"] * 10 + ["c"] * 3 + ["d"] * 1
    options = ContrastiveOptions(epochs=3, batch_size=8, per_class=4)
    batches = class_balanced_batches(labels, options, np.random.default_rng(0))
    assert len(batches) == 3 * 3  # epochs * ceil(24 / 8)
    y = np.array(labels)
    for rows in batches:
        assert len(set(rows.tolist())) == len(rows)  # no item twice in a batch
        classes, counts = np.unique(y[rows], return_counts=True)
        assert len(classes) == 2
        assert all(n == min(4, labels.count(c)) for c, n in zip(classes, counts, strict=True))


# --- cross-fitting -----------------------------------------------------------------------------


class MemorisingEncoder:
    """Maps a text it was trained on to its training class's axis, any other text to noise:
    a head on top predicts an item confidently only if the encoder trained on that item."""

    dim = 8

    def __init__(self, texts: Sequence[str], labels: Sequence[str], version: str) -> None:
        self.seen = dict(zip(texts, labels, strict=True))
        self.version = version

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.random.default_rng(len(texts)).normal(0, 0.01, (len(texts), self.dim))
        for row, text in enumerate(texts):
            if text in self.seen:
                out[row, NAMES.index(self.seen[text])] = 1.0
        return out.astype(np.float32)


def test_reviewed_items_are_scored_by_models_that_never_trained_on_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trained: list[set[str]] = []

    def fake_finetune(base, texts, labels, options, *, version, device):
        trained.append(set(texts))
        return MemorisingEncoder(texts, labels, version), []

    monkeypatch.setattr(contrastive_labeler, "finetune_encoder", fake_finetune)
    monkeypatch.setattr(contrastive_labeler, "model_folder_version", lambda path: "fake")
    texts, labels = corpus(8)
    labeler = ContrastiveLabeler(
        spec(oof_folds=4, model_path=tmp_path), CLASSES, cache=None, seed=0
    )
    labeler.fit(ids_of(texts), texts, labels)
    assert len(trained) == 4 + 1  # one fine-tune per fold, and the final one on every review
    assert trained[-1] == set(texts)
    out = labeler.predict(ids_of(texts), texts)
    assert out.out_of_fold.all()
    # An encoder that trained on the item would make its head ~certain; none did.
    assert out.probs.max() < 0.6
    # The final model, asked about reviewed texts directly, would have been certain.
    final = labeler.embedder.embed(ids_of(texts), texts)
    assert (labeler.head.predict_proba(final).max(axis=1) > 0.9).all()


# --- the real training loop on a tiny model ---------------------------------------------------


def test_fit_predict_cache_and_new_reviews(tiny_bert: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    texts, labels = corpus(8)
    ids = ids_of(texts)
    new_texts, _ = corpus(2, seed=1, tag="new")
    models = tmp_path / "models"
    options = {"model_path": tiny_bert, "oof_folds": 2, "epochs": 1, "batch_size": 8}

    def make() -> ContrastiveLabeler:
        cache = EmbeddingCache(tmp_path / "e.sqlite")
        return ContrastiveLabeler(spec(**options), CLASSES, cache=cache, model_dir=models,
                                  device="cpu")  # fmt: skip

    untrained = make()
    assert np.isnan(untrained.predict(ids, texts).probs).all()  # abstains before any review
    first = make()
    first.fit(ids, texts, labels)
    assert first.status.trained and not first.status.from_cache and first.status.seconds > 0
    out = first.predict([*ids, *ids_of(new_texts)], [*texts, *new_texts])
    np.testing.assert_allclose(out.probs.sum(axis=1), 1.0)
    assert out.out_of_fold.tolist() == [True] * len(ids) + [False] * len(new_texts)
    assert [p.name for p in models.iterdir()] == [first.version]

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("the same reviews must not be trained on again")

    monkeypatch.setattr(contrastive_labeler, "finetune_encoder", no_training)
    again = make()
    again.fit(list(reversed(ids)), list(reversed(texts)), list(reversed(labels)))
    assert again.status.from_cache and again.version == first.version
    np.testing.assert_allclose(
        again.predict([*ids, *ids_of(new_texts)], [*texts, *new_texts]).probs, out.probs,
        atol=1e-5,
    )  # fmt: skip
    monkeypatch.undo()
    changed = make()
    changed.fit(ids, texts, [*labels[:-1], "card_fraud"])
    assert changed.version != first.version
    assert [p.name for p in models.iterdir()] == [changed.version]  # the old one was pruned


def test_finetuning_moves_the_encoder_and_lowers_the_loss(tiny_bert: Path) -> None:
    import torch

    texts, labels = corpus(8)
    options = ContrastiveOptions(epochs=6, batch_size=12, per_class=4, learning_rate=1e-3)
    before = contrastive.MiniLMEncoder(tiny_bert, device="cpu").encode(texts)
    tuned, losses = contrastive.finetune_encoder(
        tiny_bert, texts, labels, options, version="t", device="cpu"
    )
    after = tuned.encode(texts)
    assert tuned.version == "t" and not np.allclose(before, after, atol=1e-3)
    assert len(losses) == 6 * 2  # epochs * ceil(24 / 12) steps, each with positive pairs
    targets = torch.tensor([NAMES.index(label) for label in labels])
    loss_before = supervised_contrastive_loss(torch.from_numpy(before), targets, 0.1)
    loss_after = supervised_contrastive_loss(torch.from_numpy(after), targets, 0.1)
    assert float(loss_after) < float(loss_before) - 0.1  # same-class texts drew together


def test_train_layers_freezes_the_embeddings_and_lower_layers(tiny_bert: Path) -> None:
    texts, labels = corpus(6)
    base = contrastive.MiniLMEncoder(tiny_bert, device="cpu").model.state_dict()
    options = ContrastiveOptions(epochs=2, batch_size=12, learning_rate=1e-3, train_layers=1)
    tuned, _ = contrastive.finetune_encoder(tiny_bert, texts, labels, options, version="t",
                                            device="cpu")  # fmt: skip
    after = tuned.model.state_dict()
    moved = {name for name in base if not np.allclose(base[name].numpy(), after[name].numpy())}
    assert moved and all(name.startswith("encoder.layer.1.") for name in moved)
    assert "embeddings.word_embeddings.weight" not in moved


def test_project_yaml_builds_a_contrastive_labeler_next_to_the_embedding_one(
    tiny_bert: Path, tmp_path: Path
) -> None:
    data = {
        "name": "learns",
        "modality": "text",
        "source": {"path": "inbox"},
        "classes": [c.model_dump() for c in CLASSES],
        "labelers": [
            {"type": "embedding"},
            {"type": "contrastive", "model_path": "tiny", "oof_folds": 2, "epochs": 1},
        ],
        "storage": "store",
    }
    (tmp_path / "tiny").symlink_to(tiny_bert)
    project = parse_project(data, base_dir=tmp_path, origin=tmp_path / "p.yaml")
    learner_spec = project.labelers[1]
    assert isinstance(learner_spec, ContrastiveLabelerSpec)
    assert learner_spec.model_path == (tmp_path / "tiny").resolve()
    assert labeler_roles(project)["contrastive"] is True
    texts, labels = corpus(7)
    reviewed = pd.DataFrame({"item_id": ids_of(texts), "text": texts, "label": labels})
    labelers = build_labelers(project, encoder=HashingEncoder(), reviewed=reviewed, device="cpu")
    learner = next(lab for lab in labelers if lab.name == "contrastive")
    assert isinstance(learner, ContrastiveLabeler) and learner.status.trained
    assert (project.project_dir / "models" / "contrastive" / "contrastive").is_dir()


@pytest.mark.slow
def test_real_minilm_learns_banking_intents_from_a_few_reviews(tmp_path: Path) -> None:
    """Fine-tuned MiniLM on 10 reviews per intent beats chance by far, out of fold."""
    from tests.conftest import SHARED_DATA

    frame = pd.read_csv(SHARED_DATA / "banking77" / "train.csv", dtype=str)
    intents = ["card_arrival", "lost_or_stolen_card", "exchange_rate", "pin_blocked"]
    frame = frame[frame["category"].isin(intents)].groupby("category").head(12)
    texts, labels = frame["text"].tolist(), frame["category"].tolist()
    classes = [ClassSpec(name=c, description=c.replace("_", " ")) for c in intents]
    labeler = ContrastiveLabeler(
        spec(oof_folds=3, epochs=2), classes, cache=EmbeddingCache(tmp_path / "e.sqlite"),
        model_dir=tmp_path / "m", device="cpu",
    )  # fmt: skip
    labeler.fit(ids_of(texts), texts, labels)
    out = labeler.predict(ids_of(texts), texts)
    assert out.out_of_fold.all()
    accuracy = float((np.array(intents)[out.probs.argmax(axis=1)] == np.array(labels)).mean())
    assert accuracy >= 0.8
