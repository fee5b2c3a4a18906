"""Suspected human labeling errors, found with cleanlab's confident learning.

Every audited (human-reviewed) item gets an out-of-sample probability from a classifier on
its sentence embedding, trained by K-fold cross-validation without that item;
``cleanlab.filter.find_label_issues`` then flags the items whose given label the data most
disagrees with. Flagged items go back to review, ranked by self-confidence (lowest first).

Where out-of-sample probabilities exist already (image classification: pretrained classifiers
and a label model that never saw the human labels), :func:`rank_label_issues` takes them
directly.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from cleanlab.filter import find_label_issues
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

ISSUE_COLUMNS = ["item_id", "given_label", "suggested_label", "self_confidence", "reported_at"]


def out_of_sample_probs(
    x: np.ndarray, y: np.ndarray, n_classes: int, *, folds: int, seed: int, c: float = 10.0
) -> np.ndarray:
    """(N, n_classes) probabilities, each row from a model that never saw that row."""
    probs = np.zeros((len(y), n_classes))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    with threadpool_limits(limits=1, user_api="blas"):
        for train, test in splitter.split(x, y):
            model = LogisticRegression(C=c, max_iter=3000).fit(x[train], y[train])
            probs[np.ix_(test, model.classes_)] = model.predict_proba(x[test])
    return probs


def find_human_label_issues(
    item_ids: Sequence[str],
    embeddings: np.ndarray,
    labels: Sequence[str],
    *,
    folds: int = 5,
    seed: int = 0,
    max_issues: int | None = None,
    reported_at: str | None = None,
) -> pd.DataFrame:
    """Items whose human label is likely wrong (``ISSUE_COLUMNS``), most suspicious first.

    Classes with fewer items than ``folds`` cannot be cross-validated and are left out of the
    analysis (their items are never flagged).
    """
    if len(item_ids) != len(labels) or len(embeddings) != len(labels):
        raise ValueError("item_ids, embeddings and labels must have the same length")
    labels_arr = np.asarray(labels, dtype=object)
    names, counts = np.unique(labels_arr, return_counts=True)
    kept_classes = [str(n) for n, k in zip(names, counts, strict=True) if k >= folds]
    keep = np.isin(labels_arr, kept_classes)
    empty = pd.DataFrame(columns=ISSUE_COLUMNS)
    if len(kept_classes) < 2:
        return empty
    ids = np.asarray(item_ids, dtype=object)[keep]
    y = np.array([kept_classes.index(label) for label in labels_arr[keep]])
    probs = out_of_sample_probs(embeddings[keep], y, len(kept_classes), folds=folds, seed=seed)
    return rank_label_issues(
        ids, probs, y, kept_classes, max_issues=max_issues, reported_at=reported_at
    )


def rank_label_issues(
    item_ids: Sequence[str],
    probs: np.ndarray,
    given: np.ndarray,
    class_names: Sequence[str],
    *,
    max_issues: int | None = None,
    reported_at: str | None = None,
) -> pd.DataFrame:
    """cleanlab's label issues (``ISSUE_COLUMNS``, most suspicious first) for ``probs``
    (N, K) out-of-sample probabilities and ``given`` (N,) class indices into ``class_names``."""
    if len(item_ids) != len(given) or len(probs) != len(given):
        raise ValueError("item_ids, probs and given labels must have the same length")
    if not len(given):
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    # n_jobs=1: no process pool forked inside an orchestrator's worker (the data is small).
    ranked = find_label_issues(
        labels=given, pred_probs=probs, return_indices_ranked_by="self_confidence", n_jobs=1
    )
    if max_issues is not None:
        ranked = ranked[:max_issues]
    ids = np.asarray(item_ids, dtype=object)
    when = reported_at or datetime.now(UTC).isoformat(timespec="microseconds")
    return pd.DataFrame(
        {
            "item_id": ids[ranked].astype(str),
            "given_label": [class_names[i] for i in given[ranked]],
            "suggested_label": [class_names[i] for i in probs[ranked].argmax(axis=1)],
            "self_confidence": probs[ranked, given[ranked]].astype(float),
            "reported_at": when,
        },
        columns=ISSUE_COLUMNS,
    )
