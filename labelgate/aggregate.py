"""Label model: many labelers' outputs → one label and a probability per item.

Hard voters (rules) are modelled with crowd-kit's Dawid–Skene: EM over all sources' arg-max
votes estimates, without any gold labels, the class priors and each source's confusion matrix
P(vote | true class). Soft sources (embedding, hf_classifier) contribute their probability
vectors as calibrated experts. Assuming sources are independent given the true class, the
posterior is

    log p(k | x) = log prior_k + sum_hard log P(vote_s | k)
                   + sum_soft [log q_s(k | x) - log prior_k]

With a single soft source the posterior is exactly that source's probabilities.
"""

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
from crowdkit.aggregation import DawidSkene

from labelgate.labelers.base import LabelerOutput, abstain_rows

EPS = 1e-6
CONFUSION_FLOOR = 0.01


@dataclass(frozen=True)
class SourceRole:
    name: str
    soft: bool


def _dawid_skene(
    outputs: list[LabelerOutput], k: int, seed: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Class priors (K,) and per-source confusion matrices (K true x K vote) from votes."""
    records = []
    for output in outputs:
        voted = ~abstain_rows(output.probs)
        votes = np.nanargmax(np.where(voted[:, None], output.probs, -1.0), axis=1)
        records.extend(
            (item, output.name, int(vote))
            for item, vote in zip(np.flatnonzero(voted), votes[voted], strict=True)
        )
    uniform = np.full(k, 1.0 / k)
    default = np.full((k, k), (1 - 0.7) / max(k - 1, 1))
    np.fill_diagonal(default, 0.7)
    confusions = {o.name: default.copy() for o in outputs}
    if len({r[1] for r in records}) < 2 or len({r[0] for r in records}) < 2:
        return uniform, confusions
    frame = pd.DataFrame.from_records(records, columns=["task", "worker", "label"])
    model = DawidSkene(n_iter=100).fit(frame)
    priors = np.array([float(model.priors_.get(c, 0.0)) for c in range(k)])
    priors = np.clip(priors, EPS, None)
    priors /= priors.sum()
    errors = model.errors_
    for output in outputs:
        matrix = default.copy()
        if output.name in errors.index.get_level_values(0):
            block = errors.loc[output.name]  # rows: observed vote, columns: true class
            for true in range(k):
                if true not in block.columns:
                    continue
                column = np.array([float(block[true].get(v, 0.0)) for v in range(k)])
                column = np.clip(column, CONFUSION_FLOOR, None)
                matrix[true] = column / column.sum()
        confusions[output.name] = matrix
    return priors, confusions


def posterior(
    outputs: list[LabelerOutput], roles: dict[str, bool], k: int, *, seed: int = 0
) -> np.ndarray:
    """(N, K) posterior. ``roles`` maps labeler name → True for soft (probabilistic) sources.

    A batch with no items (every row a duplicate or quarantined) has no outputs, or outputs
    of zero rows: its posterior is an empty (0, K) array, not an error.
    """
    n = len(outputs[0].probs) if outputs else 0
    if n == 0:
        return np.empty((0, k))
    hard = [o for o in outputs if not roles[o.name]]
    soft = [o for o in outputs if roles[o.name]]
    if hard:
        priors, confusions = _dawid_skene(outputs, k, seed)
    else:
        priors, confusions = np.full(k, 1.0 / k), {}
    log_post = np.tile(np.log(priors), (n, 1))
    for output in hard:
        voted = ~abstain_rows(output.probs)
        votes = np.nanargmax(np.where(voted[:, None], output.probs, -1.0), axis=1)
        log_likelihood = np.log(confusions[output.name][:, votes].T)  # (N, K)
        log_post += np.where(voted[:, None], log_likelihood, 0.0)
    for output in soft:
        voted = ~abstain_rows(output.probs)
        contribution = np.log(np.clip(output.probs, EPS, 1.0)) - np.log(priors)
        log_post += np.where(voted[:, None], np.nan_to_num(contribution), 0.0)
    log_post -= log_post.max(axis=1, keepdims=True)
    post = np.exp(log_post)
    return post / post.sum(axis=1, keepdims=True)


def aggregate(
    item_ids: list[str],
    outputs: list[LabelerOutput],
    roles: dict[str, bool],
    class_names: list[str],
    *,
    seed: int = 0,
) -> pd.DataFrame:
    """The ``auto_labels`` columns (without ``batch``) for the given items."""
    k = len(class_names)
    post = posterior(outputs, roles, k, seed=seed)
    order = np.sort(post, axis=1)
    best = post.argmax(axis=1)
    entropy = -(post * np.log(np.clip(post, 1e-12, 1.0))).sum(axis=1)
    labels = [class_names[b] for b in best]
    agreeing = []
    for row, b in enumerate(best):
        names = [
            o.name
            for o in outputs
            if not np.isnan(o.probs[row]).any() and int(np.argmax(o.probs[row])) == b
        ]
        agreeing.append(",".join(names))
    versions = json.dumps({o.name: o.version for o in outputs}, sort_keys=True)
    return pd.DataFrame(
        {
            "item_id": item_ids,
            "label": labels,
            "confidence": order[:, -1],
            "margin": order[:, -1] - (order[:, -2] if k > 1 else 0.0),
            "entropy": entropy,
            "probs": list(post),
            "agreeing_sources": agreeing,
            "labeler_versions": versions,
        }
    )
