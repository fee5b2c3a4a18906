"""The label model: Dawid–Skene over hard votes, product of experts over soft sources."""

import json

import numpy as np
import pytest

from labelgate.aggregate import aggregate, posterior
from labelgate.labelers.base import LabelerOutput, abstain_rows

K = 3
CLASSES = ["card_fraud", "loan_inquiry", "address_change"]
NAN = np.nan


def hard_voter(
    name: str, truth: np.ndarray, accuracy: float, coverage: float, rng: np.random.Generator
) -> LabelerOutput:
    """A rules-like source: 0.9 on its vote, abstains (NaN row) on ``1 - coverage`` of items."""
    n = len(truth)
    wrong = (truth + rng.integers(1, K, size=n)) % K
    votes = np.where(rng.random(n) < accuracy, truth, wrong)
    voted = rng.random(n) < coverage
    probs = np.full((n, K), NAN)
    probs[voted] = 0.1 / (K - 1)
    probs[np.flatnonzero(voted), votes[voted]] = 0.9
    return LabelerOutput(name, f"{name}-v1", probs)


def soft_source(name: str, truth: np.ndarray, rng: np.random.Generator) -> LabelerOutput:
    logits = rng.normal(0.0, 1.0, (len(truth), K))
    logits[np.arange(len(truth)), truth] += 1.2
    probs = np.exp(logits)
    return LabelerOutput(name, f"{name}-v1", probs / probs.sum(axis=1, keepdims=True))


def accuracy(probs: np.ndarray, truth: np.ndarray) -> float:
    return float((probs.argmax(axis=1) == truth).mean())


def voted_accuracy(output: LabelerOutput, truth: np.ndarray) -> float:
    """Accuracy of a source on the items it voted on (abstentions excluded: a generous bar)."""
    voted = ~abstain_rows(output.probs)
    return accuracy(output.probs[voted], truth[voted])


def majority_vote(outputs: list[LabelerOutput]) -> np.ndarray:
    """Vote counts (N, K); arg-max breaks ties towards class 0, which is the most frequent."""
    counts = np.zeros_like(outputs[0].probs)
    for output in outputs:
        voted = ~abstain_rows(output.probs)
        rows = np.flatnonzero(voted)
        counts[rows, output.probs[voted].argmax(axis=1)] += 1
    return counts


def rows(*values: list[float]) -> np.ndarray:
    return np.array(values, dtype=np.float64)


@pytest.fixture(scope="module")
def crowd() -> tuple[np.ndarray, list[LabelerOutput]]:
    """Known truth and three rules-like voters of different quality, all abstaining at times.

    Three, not two: with only two voters Dawid–Skene cannot tell which one is the accurate one
    (their agreement is symmetric), and in crowd-kit 1.4.2 it then does worse than a vote.
    """
    rng = np.random.default_rng(0)
    truth = rng.choice(K, size=500, p=[0.5, 0.3, 0.2])
    outputs = [
        hard_voter("accurate", truth, accuracy=0.92, coverage=0.7, rng=rng),
        hard_voter("noisy", truth, accuracy=0.6, coverage=0.9, rng=rng),
        hard_voter("medium", truth, accuracy=0.75, coverage=0.8, rng=rng),
    ]
    return truth, outputs


# --- Dawid–Skene ---------------------------------------------------------------------------


def test_dawid_skene_recovers_the_truth(crowd: tuple[np.ndarray, list[LabelerOutput]]) -> None:
    truth, outputs = crowd
    assert all(abstain_rows(o.probs).any() for o in outputs)
    post = posterior(outputs, {o.name: False for o in outputs}, K)

    ds = accuracy(post, truth)
    assert ds > voted_accuracy(outputs[1], truth) + 0.15  # far better than the noisy voter
    assert ds >= accuracy(majority_vote(outputs), truth)  # and at least as good as a vote
    # It learns whom to trust: in a one-to-one tie, the accurate voter wins.
    votes = [np.where(abstain_rows(o.probs), -1, o.probs.argmax(axis=1)) for o in outputs]
    tie = (votes[0] >= 0) & (votes[1] >= 0) & (votes[0] != votes[1]) & (votes[2] < 0)
    assert tie.sum() >= 10
    assert (post[tie].argmax(axis=1) == votes[0][tie]).mean() > 0.85


def test_adding_a_soft_source_improves_on_it(
    crowd: tuple[np.ndarray, list[LabelerOutput]],
) -> None:
    truth, hard = crowd
    soft = soft_source("embedding", truth, np.random.default_rng(1))
    roles = {o.name: False for o in hard} | {"embedding": True}
    post = posterior([*hard, soft], roles, K)
    assert accuracy(post, truth) > accuracy(soft.probs, truth) + 0.1


def test_posterior_is_a_distribution_per_item(
    crowd: tuple[np.ndarray, list[LabelerOutput]],
) -> None:
    truth, outputs = crowd
    post = posterior(outputs, {o.name: False for o in outputs}, K)
    assert post.shape == (len(truth), K)
    assert np.isfinite(post).all()
    assert (post >= 0).all()
    np.testing.assert_allclose(post.sum(axis=1), 1.0)


# --- soft sources --------------------------------------------------------------------------


def test_single_soft_source_posterior_equals_its_probabilities() -> None:
    probs = rows([0.7, 0.2, 0.1], [0.05, 0.05, 0.9], [1 / 3, 1 / 3, 1 / 3], [0.2, 0.5, 0.3])
    post = posterior([LabelerOutput("emb", "v", probs)], {"emb": True}, K)
    np.testing.assert_allclose(post, probs, atol=1e-9)


def test_single_soft_source_abstaining_leaves_the_uniform_prior() -> None:
    probs = rows([0.7, 0.2, 0.1], [NAN, NAN, NAN])
    post = posterior([LabelerOutput("emb", "v", probs)], {"emb": True}, K)
    np.testing.assert_allclose(post[0], [0.7, 0.2, 0.1], atol=1e-9)
    np.testing.assert_allclose(post[1], [1 / 3] * 3)


def test_soft_sources_multiply_as_a_product_of_experts() -> None:
    first = rows([0.6, 0.3, 0.1], [0.2, 0.2, 0.6])
    second = rows([0.2, 0.7, 0.1], [NAN, NAN, NAN])
    outputs = [LabelerOutput("a", "1", first), LabelerOutput("b", "1", second)]
    post = posterior(outputs, {"a": True, "b": True}, K)
    product = first[0] * second[0]
    np.testing.assert_allclose(post[0], product / product.sum(), atol=1e-9)
    np.testing.assert_allclose(post[1], first[1], atol=1e-9)  # an abstention changes nothing


# --- the auto_labels frame -----------------------------------------------------------------


def test_aggregate_scores_are_consistent_with_probs(
    crowd: tuple[np.ndarray, list[LabelerOutput]],
) -> None:
    truth, outputs = crowd
    ids = [f"item{i}" for i in range(len(truth))]
    frame = aggregate(ids, outputs, {o.name: False for o in outputs}, CLASSES)
    assert list(frame.columns) == [
        "item_id",
        "label",
        "confidence",
        "margin",
        "entropy",
        "probs",
        "agreeing_sources",
        "labeler_versions",
    ]
    assert frame["item_id"].tolist() == ids
    probs = np.stack(frame["probs"].to_list())
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert frame["label"].tolist() == [CLASSES[b] for b in probs.argmax(axis=1)]
    ordered = np.sort(probs, axis=1)
    np.testing.assert_allclose(frame["confidence"], ordered[:, -1])
    np.testing.assert_allclose(frame["margin"], ordered[:, -1] - ordered[:, -2])
    entropy = -(probs * np.log(probs)).sum(axis=1)
    np.testing.assert_allclose(frame["entropy"], entropy, atol=1e-9)
    assert frame["confidence"].between(1 / K, 1).all()
    assert (frame["margin"] >= 0).all()
    assert frame["entropy"].between(0, np.log(K) + 1e-9).all()
    # More confident rows are less uncertain.
    assert np.corrcoef(frame["confidence"], frame["entropy"])[0, 1] < -0.5
    assert json.loads(frame["labeler_versions"].iloc[0]) == {
        "accurate": "accurate-v1",
        "medium": "medium-v1",
        "noisy": "noisy-v1",
    }


def test_agreeing_sources_lists_exactly_the_sources_that_picked_the_label() -> None:
    strong = rows([0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.5, 0.3, 0.2])
    weak = rows([0.3, 0.4, 0.3], [0.2, 0.7, 0.1], [0.5, 0.2, 0.3], [NAN, NAN, NAN])
    same = rows([0.6, 0.2, 0.2], [0.4, 0.3, 0.3], [0.1, 0.1, 0.8], [NAN, NAN, NAN])
    absent = np.full((4, K), NAN)
    outputs = [
        LabelerOutput("strong", "s", strong),
        LabelerOutput("weak", "w", weak),
        LabelerOutput("same", "m", same),
        LabelerOutput("absent", "a", absent),
    ]
    roles = {o.name: True for o in outputs}
    frame = aggregate(["a", "b", "c", "d"], outputs, roles, CLASSES)
    assert frame["label"].tolist() == ["card_fraud", "loan_inquiry", "address_change", "card_fraud"]
    assert frame["agreeing_sources"].tolist() == [
        "strong,same",
        "strong,weak",
        "strong,same",
        "strong",
    ]


def test_item_where_every_source_abstains_gets_no_agreeing_source() -> None:
    probs = rows([0.1, 0.1, 0.8], [NAN, NAN, NAN])
    frame = aggregate(["x", "y"], [LabelerOutput("emb", "v", probs)], {"emb": True}, CLASSES)
    assert frame["agreeing_sources"].tolist() == ["emb", ""]
    assert frame["confidence"].iloc[1] == pytest.approx(1 / K)
    assert frame["margin"].iloc[1] == pytest.approx(0.0)
    assert frame["entropy"].iloc[1] == pytest.approx(np.log(K))
