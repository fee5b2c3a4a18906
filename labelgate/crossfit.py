"""Cross-fitting: split reviewed items into folds so each item is scored by a model that never
trained on it.

Folds are stratified by label where the class counts allow it (every fold model then sees
every class that has at least as many reviews as there are folds) and seeded, so the same
reviews and seed always give the same folds.
"""

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

Fold = tuple[np.ndarray, np.ndarray]  # (train rows, held-out rows)


def cross_fit_folds(labels: np.ndarray, n_folds: int, *, seed: int) -> list[Fold]:
    """``min(n_folds, N)`` (train, test) index pairs whose test parts partition ``range(N)``."""
    y = np.asarray(labels, dtype=object)
    if n_folds < 2:
        raise ValueError(f"cross-fitting needs at least 2 folds, got {n_folds}")
    if len(y) < 2:
        raise ValueError(f"cross-fitting needs at least 2 reviewed items, got {len(y)}")
    k = min(n_folds, len(y))
    counts = np.unique(y, return_counts=True)[1]
    if counts.max() >= k:  # stratify; classes rarer than k spread over as many folds as they can
        splitter: KFold | StratifiedKFold = StratifiedKFold(k, shuffle=True, random_state=seed)
    else:
        splitter = KFold(k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        return [(train, test) for train, test in splitter.split(np.zeros(len(y)), y)]


def with_out_of_fold(
    item_ids: Sequence[str], probs: np.ndarray, oof: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """``probs`` with every reviewed item's row replaced by its out-of-fold probabilities,
    and the mask of those rows (what the gate may use as evidence)."""
    out_of_fold = np.fromiter((item_id in oof for item_id in item_ids), bool, len(item_ids))
    for row in np.flatnonzero(out_of_fold):
        probs[row] = oof[item_ids[row]]
    return probs, out_of_fold
