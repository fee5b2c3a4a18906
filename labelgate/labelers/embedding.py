"""Embedding labeler: zero-shot by similarity to class descriptions, few-shot once reviews exist.

Few-shot is a multinomial logistic-regression head on the same (cached) embeddings, trained on
the human-reviewed items. Reviewed items themselves get cross-fitted out-of-fold predictions
(stratified K-fold), so the gate calibrates on predictions of a model that never saw the
item's label.

Items nobody reviewed are scored, by default, by the mean of the K fold heads
(``predict_with: fold_mean``), not by one head refit on every review: the gate's threshold is
chosen on fold-head confidences, and the mean of the same fold heads is on that scale (a
refit head on all reviews is more confident than the evidence it is judged by). More folds
(``oof_folds``, default 10) make each fold head train on 90% of the reviews instead of 80%, so
the evidence judges nearly the model whose labels are accepted.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from labelgate.crossfit import cross_fit_folds, with_out_of_fold
from labelgate.embeddings import CachedEmbedder
from labelgate.labelers.base import LabelerOutput
from labelgate.spec import ClassSpec, EmbeddingLabelerSpec
from labelgate.storage import atomic_path


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def _short_hash(payload: object) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class FewShotStatus:
    trained: bool
    reason: str
    n_reviews: int
    reviews_per_class: dict[str, int]


class EmbeddingLabeler:
    soft = True

    def __init__(
        self,
        spec: EmbeddingLabelerSpec,
        classes: list[ClassSpec],
        embedder: CachedEmbedder,
        *,
        seed: int = 0,
        model_dir: Path | None = None,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.class_names = [c.name for c in classes]
        self.embedder = embedder
        self.seed = seed
        self.model_dir = model_dir  # fitted heads are kept here, one file per version
        prompts = [f"{c.name.replace('_', ' ')}: {c.description}" for c in classes]
        self.class_vectors = embedder.encoder.encode(prompts)
        zero_shot_config = {"prompts": prompts, "temperature": spec.temperature}
        self._base_version = f"{embedder.encoder.version}-zs-{_short_hash(zero_shot_config)}"
        self.version = self._base_version
        self.head: LogisticRegression | None = None
        self.fold_heads: list[LogisticRegression] = []
        self.oof: dict[str, np.ndarray] = {}
        self.status = FewShotStatus(False, "no reviews yet", 0, {})

    def _new_head(self) -> LogisticRegression:
        return LogisticRegression(
            C=self.spec.head_c, class_weight=self.spec.head_class_weight, max_iter=3000
        )

    def _expand(self, head: LogisticRegression, probs: np.ndarray) -> np.ndarray:
        """Head probabilities over its seen classes → all K classes (unseen get 0)."""
        full = np.zeros((len(probs), len(self.class_names)))
        columns = [self.class_names.index(c) for c in head.classes_]
        full[:, columns] = probs
        return full

    def fit(self, item_ids: Sequence[str], texts: Sequence[str], labels: Sequence[str]) -> None:
        """Train the few-shot head on reviewed items, with out-of-fold predictions for them."""
        counts = {c: int(sum(1 for label in labels if label == c)) for c in self.class_names}
        short = [c for c, n in counts.items() if n < self.spec.min_reviews_per_class]
        if not self.spec.few_shot:
            reason = "few-shot disabled in the project file"
        elif len(labels) < self.spec.min_reviews:
            reason = f"{len(labels)} reviews, fewer than min_reviews={self.spec.min_reviews}"
        elif short and self.spec.wait_for_every_class:
            reason = f"classes with fewer than {self.spec.min_reviews_per_class} reviews: {short}"
        elif len(counts) - len(short) < 2:
            reason = (
                f"fewer than 2 classes with {self.spec.min_reviews_per_class} reviews or more; "
                f"short: {short}"
            )
        else:
            reason = ""
        if reason:
            self.status = FewShotStatus(False, reason, len(labels), counts)
            return
        reviews_hash = _short_hash(
            [sorted(zip(item_ids, labels, strict=True)), self.seed, self.spec.oof_folds]
        )
        weights = self.spec.head_class_weight or "none"
        version = (
            f"{self._base_version}-fs-{reviews_hash}-c{self.spec.head_c:g}-{weights}"
            f"-k{self.spec.oof_folds}-{self.spec.predict_with}"
        )
        cached = self._cache_path(version)
        if cached is not None and cached.is_file():
            self.head, self.fold_heads, self.oof = joblib.load(cached)
        else:
            self.head, self.fold_heads, self.oof = self._train(item_ids, texts, labels)
            if cached is not None:
                with atomic_path(cached) as tmp:
                    joblib.dump((self.head, self.fold_heads, self.oof), tmp)
        self.version = version
        trained = "trained on reviewed items"
        if short:  # the head learns them from what reviews there are, or never predicts them
            trained += (
                f"; classes with fewer than {self.spec.min_reviews_per_class} reviews: {short}"
            )
        self.status = FewShotStatus(True, trained, len(labels), counts)

    def _cache_path(self, version: str) -> Path | None:
        return None if self.model_dir is None else self.model_dir / f"{version}.joblib"

    def _train(
        self, item_ids: Sequence[str], texts: Sequence[str], labels: Sequence[str]
    ) -> tuple[LogisticRegression, list[LogisticRegression], dict[str, np.ndarray]]:
        """The head on all reviews, the fold heads, and out-of-fold probabilities per review.

        BLAS runs single-threaded here: lbfgs on a few thousand rows is dominated by thread
        hand-offs otherwise (about 10x slower on two cores).
        """
        x = self.embedder.embed(list(item_ids), list(texts))
        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit_heads(item_ids, x, np.asarray(labels))

    def _fit_heads(
        self, item_ids: Sequence[str], x: np.ndarray, y: np.ndarray
    ) -> tuple[LogisticRegression, list[LogisticRegression], dict[str, np.ndarray]]:
        oof = np.zeros((len(y), len(self.class_names)))
        fold_heads = []
        for train, test in cross_fit_folds(y, self.spec.oof_folds, seed=self.seed):
            seen = np.unique(y[train])
            if len(seen) < 2:  # a rare class's only reviews fell in the test fold
                oof[test, self.class_names.index(str(seen[0]))] = 1.0
                continue
            head = self._new_head().fit(x[train], y[train])
            oof[test] = self._expand(head, head.predict_proba(x[test]))
            fold_heads.append(head)
        final = self._new_head().fit(x, y)
        return final, fold_heads, dict(zip(item_ids, oof, strict=True))

    def _unreviewed_probs(self, vectors: np.ndarray) -> np.ndarray:
        """Probabilities for items no fold held out: the fold heads' mean, or the refit head."""
        if self.spec.predict_with == "fold_mean" and self.fold_heads:
            with threadpool_limits(limits=1, user_api="blas"):
                total = sum(self._expand(h, h.predict_proba(vectors)) for h in self.fold_heads)
            return total / len(self.fold_heads)
        assert self.head is not None
        return self._expand(self.head, self.head.predict_proba(vectors))

    def predict_embeddings(self, item_ids: Sequence[str], vectors: np.ndarray) -> LabelerOutput:
        if self.head is None:
            probs = softmax(vectors @ self.class_vectors.T / self.spec.temperature)
            return LabelerOutput(self.name, self.version, probs)
        probs = self._unreviewed_probs(vectors)
        probs, out_of_fold = with_out_of_fold(item_ids, probs, self.oof)
        return LabelerOutput(self.name, self.version, probs, out_of_fold)

    def predict(self, item_ids: Sequence[str], texts: Sequence[str]) -> LabelerOutput:
        return self.predict_embeddings(item_ids, self.embedder.embed(item_ids, texts))
