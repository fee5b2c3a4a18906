"""A labeler that learns from the reviews: a contrastively fine-tuned encoder + a linear head.

On every fit (each review round, inside the normal loop) the sentence encoder is fine-tuned on
the reviewed items (``labelgate.contrastive``), then a logistic-regression head is trained on
its embeddings. Cross-fitting keeps the gate's evidence honest: the reviews are split into
``oof_folds`` folds, and each reviewed item is scored by an encoder *and* head fitted on the
other folds only. Items nobody reviewed are scored by the encoder and head fitted on all
reviews. ``oof_folds + 1`` fine-tunes per round is the price.

What is cached (so a re-run without new reviews trains nothing): under ``model_dir/<version>``
the final encoder's weights, the head and the out-of-fold probabilities, where the version
hashes the reviews, seed, options and base model; the final encoder's embeddings go into the
project's embedding cache under that version. Older versions' folders are removed.
"""

import hashlib
import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from labelgate.contrastive import ContrastiveOptions, finetune_encoder
from labelgate.crossfit import cross_fit_folds, with_out_of_fold
from labelgate.embeddings import (
    CachedEmbedder,
    EmbeddingCache,
    MiniLMEncoder,
    default_minilm_path,
    model_folder_version,
)
from labelgate.labelers.base import LabelerOutput
from labelgate.spec import ClassSpec, ContrastiveLabelerSpec
from labelgate.storage import atomic_path

STATE_FILE = "state.joblib"
ENCODER_DIR = "encoder"


@dataclass(frozen=True)
class ContrastiveStatus:
    trained: bool
    reason: str
    n_reviews: int
    seconds: float = 0.0  # wall time of the last fit (0 when loaded from the cache)
    from_cache: bool = False


class ContrastiveLabeler:
    """Abstains until trained: it knows nothing before the first reviews."""

    soft = True

    def __init__(
        self,
        spec: ContrastiveLabelerSpec,
        classes: list[ClassSpec],
        *,
        cache: EmbeddingCache | None = None,
        seed: int = 0,
        model_dir: Path | None = None,
        device: str = "auto",
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.class_names = [c.name for c in classes]
        self.base = spec.model_path or default_minilm_path()
        self.cache = cache
        self.seed = seed
        self.model_dir = model_dir
        self.device = device
        self.options = ContrastiveOptions(
            epochs=spec.epochs,
            batch_size=spec.batch_size,
            per_class=spec.per_class,
            learning_rate=spec.learning_rate,
            temperature=spec.contrastive_temperature,
            max_length=spec.max_length,
            seed=seed,
            train_layers=spec.train_layers,
        )
        self._base_version = f"ct-{model_folder_version(Path(self.base))}"
        self.version = f"{self._base_version}-untrained"
        self.embedder: CachedEmbedder | None = None
        self.head: LogisticRegression | None = None
        self.oof: dict[str, np.ndarray] = {}
        self.status = ContrastiveStatus(False, "no reviews yet", 0)

    def _new_head(self) -> LogisticRegression:
        return LogisticRegression(C=self.spec.head_c, class_weight="balanced", max_iter=3000)

    def _expand(self, head: LogisticRegression, probs: np.ndarray) -> np.ndarray:
        full = np.zeros((len(probs), len(self.class_names)))
        full[:, [self.class_names.index(c) for c in head.classes_]] = probs
        return full

    def _version(self, item_ids: Sequence[str], labels: Sequence[str]) -> str:
        payload = [
            sorted(zip(item_ids, labels, strict=True)),
            self.seed,
            self.spec.oof_folds,
            self.spec.head_c,
            self.options.__dict__,
        ]
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]
        return f"{self._base_version}-{digest}"

    def fit(self, item_ids: Sequence[str], texts: Sequence[str], labels: Sequence[str]) -> None:
        labels = list(labels)
        counts = {c: labels.count(c) for c in set(labels)}
        if len(labels) < self.spec.min_reviews:
            self.status = ContrastiveStatus(
                False, f"{len(labels)} reviews, fewer than min_reviews={self.spec.min_reviews}",
                len(labels),
            )  # fmt: skip
            return
        if sum(1 for n in counts.values() if n >= 2) < 2:
            self.status = ContrastiveStatus(
                False, "fewer than 2 classes with 2 reviews or more", len(labels)
            )
            return
        version = self._version(item_ids, labels)
        folder = None if self.model_dir is None else self.model_dir / version
        if folder is not None and (folder / STATE_FILE).is_file():
            encoder = MiniLMEncoder(folder / ENCODER_DIR, device=self.device)
            encoder.version = version
            self.head, self.oof = joblib.load(folder / STATE_FILE)
            self._set(encoder, version)
            self.status = ContrastiveStatus(True, "loaded from the cache", len(labels), 0.0, True)
            return
        started = time.perf_counter()
        self.oof = self._cross_fit(item_ids, texts, labels, version)
        encoder, _ = finetune_encoder(
            Path(self.base), texts, labels, self.options, version=version, device=self.device
        )
        self._set(encoder, version)
        x = self.embedder.embed(list(item_ids), list(texts))
        with threadpool_limits(limits=1, user_api="blas"):
            self.head = self._new_head().fit(x, np.asarray(labels))
        if folder is not None:
            self._save(folder, encoder)
        seconds = time.perf_counter() - started
        self.status = ContrastiveStatus(
            True, f"fine-tuned on {len(labels)} reviews in {seconds:.0f}s", len(labels), seconds
        )

    def _set(self, encoder: MiniLMEncoder, version: str) -> None:
        self.embedder = CachedEmbedder(encoder, self.cache)
        self.version = version

    def _cross_fit(
        self, item_ids: Sequence[str], texts: Sequence[str], labels: list[str], version: str
    ) -> dict[str, np.ndarray]:
        """Out-of-fold probabilities: each fold's items scored by an encoder and head that were
        fitted on the other folds only."""
        y = np.asarray(labels, dtype=object)
        oof = np.zeros((len(y), len(self.class_names)))
        for number, (train, test) in enumerate(cross_fit_folds(y, self.spec.oof_folds,
                                                               seed=self.seed)):  # fmt: skip
            train_labels = y[train].tolist()
            if len({c for c in train_labels if train_labels.count(c) >= 2}) < 2:
                seen = np.unique(y[train])
                oof[test, self.class_names.index(str(seen[0]))] = 1.0
                continue
            encoder, _ = finetune_encoder(
                Path(self.base), [texts[i] for i in train], train_labels, self.options,
                version=f"{version}-fold{number}", device=self.device,
            )  # fmt: skip
            x_train = encoder.encode([texts[i] for i in train])
            x_test = encoder.encode([texts[i] for i in test])
            with threadpool_limits(limits=1, user_api="blas"):
                head = self._new_head().fit(x_train, y[train])
                oof[test] = self._expand(head, head.predict_proba(x_test))
        return {item_ids[i]: oof[i] for i in range(len(y))}

    def _save(self, folder: Path, encoder: MiniLMEncoder) -> None:
        encoder.model.save_pretrained(folder / ENCODER_DIR)
        encoder.tokenizer.save_pretrained(folder / ENCODER_DIR)
        with atomic_path(folder / STATE_FILE) as tmp:  # written last: marks the folder complete
            joblib.dump((self.head, self.oof), tmp)
        for old in folder.parent.iterdir():
            if old.is_dir() and old != folder and old.name.startswith(self._base_version):
                shutil.rmtree(old, ignore_errors=True)

    def predict(self, item_ids: Sequence[str], texts: Sequence[str]) -> LabelerOutput:
        if self.head is None or self.embedder is None:
            probs = np.full((len(item_ids), len(self.class_names)), np.nan)
            return LabelerOutput(self.name, self.version, probs)
        x = self.embedder.embed(list(item_ids), list(texts))
        with threadpool_limits(limits=1, user_api="blas"):
            probs = self._expand(self.head, self.head.predict_proba(x))
        probs, out_of_fold = with_out_of_fold(item_ids, probs, self.oof)
        return LabelerOutput(self.name, self.version, probs, out_of_fold)
