"""The two kinds of distilled text classifiers, behind one small interface.

``HeadClassifier``: logistic regression (or a one-layer MLP) on frozen sentence embeddings
from the project's embedding cache. ``FinetuneClassifier``: a transformers sequence
classifier whose every weight is trained, started from the local MiniLM folder. Both return
(N, K) probabilities over the project's classes in project order; classes missing from the
training labels get probability 0.
"""

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from labelgate.embeddings import CachedEmbedder, default_minilm_path, resolve_device
from labelgate.models.config import TrainingSpec
from labelgate.storage import atomic_path

HEAD_FILE = "head.joblib"
FINETUNE_DIR = "hf"


class TextClassifier(Protocol):
    def fit(self, item_ids: Sequence[str], texts: Sequence[str], labels: Sequence[str]) -> None: ...

    def predict_proba(self, item_ids: Sequence[str], texts: Sequence[str]) -> np.ndarray: ...

    def save(self, folder: Path) -> None: ...


def _expand(model_classes: Sequence[str], probs: np.ndarray, class_names: list[str]) -> np.ndarray:
    full = np.zeros((len(probs), len(class_names)))
    full[:, [class_names.index(str(c)) for c in model_classes]] = probs
    return full


class HeadClassifier:
    def __init__(self, spec: TrainingSpec, class_names: list[str], embedder: CachedEmbedder):
        self.spec = spec
        self.class_names = class_names
        self.embedder = embedder
        self.model: LogisticRegression | MLPClassifier | None = None

    def _new(self) -> LogisticRegression | MLPClassifier:
        if self.spec.hidden_units:
            return MLPClassifier(
                hidden_layer_sizes=(self.spec.hidden_units,),
                alpha=1.0 / self.spec.head_c,
                max_iter=500,
                early_stopping=False,
                random_state=self.spec.seed,
            )
        return LogisticRegression(C=self.spec.head_c, class_weight="balanced", max_iter=3000)

    def fit(self, item_ids: Sequence[str], texts: Sequence[str], labels: Sequence[str]) -> None:
        x = self.embedder.embed(list(item_ids), list(texts))
        y = np.asarray(labels, dtype=object)
        if len(set(y)) < 2:
            self.model = None
            self._single = str(y[0])
            return
        # lbfgs on a few thousand rows is dominated by BLAS thread hand-offs otherwise.
        with threadpool_limits(limits=1, user_api="blas"):
            self.model = self._new().fit(x, y)

    def predict_proba(self, item_ids: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        x = self.embedder.embed(list(item_ids), list(texts))
        if self.model is None:
            probs = np.zeros((len(x), len(self.class_names)))
            probs[:, self.class_names.index(self._single)] = 1.0
            return probs
        with threadpool_limits(limits=1, user_api="blas"):
            return _expand(self.model.classes_, self.model.predict_proba(x), self.class_names)

    def save(self, folder: Path) -> None:
        with atomic_path(Path(folder) / HEAD_FILE) as tmp:
            joblib.dump({"model": self.model, "single": getattr(self, "_single", None)}, tmp)

    @classmethod
    def load(
        cls, folder: Path, spec: TrainingSpec, class_names: list[str], embedder: CachedEmbedder
    ) -> "HeadClassifier":
        head = cls(spec, class_names, embedder)
        state = joblib.load(Path(folder) / HEAD_FILE)
        head.model, head._single = state["model"], state["single"]
        return head


class FinetuneClassifier:
    """Full fine-tune with AdamW and a linear learning-rate decay; seeds fixed, so the same
    data and options give the same weights on the same machine."""

    def __init__(self, spec: TrainingSpec, class_names: list[str], *, device: str = "auto"):
        self.spec = spec
        self.class_names = class_names
        self.device = resolve_device(device)
        self.base = Path(spec.base_model) if spec.base_model else default_minilm_path()
        self.model = None
        self.tokenizer = None
        self.epoch_loss: list[float] = []  # mean training loss per epoch of the last fit

    def _seed(self) -> None:
        import torch

        random.seed(self.spec.seed)
        np.random.seed(self.spec.seed)
        torch.manual_seed(self.spec.seed)

    def fit(self, item_ids: Sequence[str], texts: Sequence[str], labels: Sequence[str]) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # "newly initialized classifier weights" is expected
        self._seed()
        k = len(self.class_names)
        self.tokenizer = AutoTokenizer.from_pretrained(self.base, local_files_only=True)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            self.base,
            local_files_only=True,
            num_labels=k,
            id2label=dict(enumerate(self.class_names)),
            label2id={c: i for i, c in enumerate(self.class_names)},
        ).to(self.device)
        y = torch.tensor([self.class_names.index(label) for label in labels])
        generator = torch.Generator().manual_seed(self.spec.seed)
        steps_per_epoch = -(-len(texts) // self.spec.batch_size)
        total = max(1, steps_per_epoch * self.spec.epochs)
        optimizer = torch.optim.AdamW(self.model.parameters(), lr=self.spec.learning_rate)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0 - s / total)
        self.model.train()
        self.epoch_loss = []
        for _ in range(self.spec.epochs):
            order = torch.randperm(len(texts), generator=generator).tolist()
            total_loss = 0.0
            for start in range(0, len(order), self.spec.batch_size):
                index = order[start : start + self.spec.batch_size]
                batch = self._tokenize([texts[i] for i in index])
                loss = self.model(**batch, labels=y[index].to(self.device)).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
                total_loss += float(loss.detach()) * len(index)
            self.epoch_loss.append(round(total_loss / len(order), 6))
        self.model.eval()

    def _tokenize(self, texts: list[str]):
        return self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.spec.max_length,
            return_tensors="pt",
        ).to(self.device)

    def predict_proba(self, item_ids: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        import torch

        if self.model is None:
            raise RuntimeError("the fine-tuned classifier was neither trained nor loaded")
        out = np.empty((len(texts), len(self.class_names)))
        with torch.inference_mode():
            for start in range(0, len(texts), 64):
                batch = self._tokenize(list(texts[start : start + 64]))
                logits = self.model(**batch).logits.float()
                out[start : start + len(logits)] = torch.softmax(logits, -1).cpu().numpy()
        return out

    def save(self, folder: Path) -> None:
        target = Path(folder) / FINETUNE_DIR
        self.model.save_pretrained(target)
        self.tokenizer.save_pretrained(target)

    @classmethod
    def load(
        cls, folder: Path, spec: TrainingSpec, class_names: list[str], *, device: str = "auto"
    ) -> "FinetuneClassifier":
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        model = cls(spec, class_names, device=device)
        path = Path(folder) / FINETUNE_DIR
        model.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model.model = AutoModelForSequenceClassification.from_pretrained(
            path, local_files_only=True
        ).to(model.device)
        model.model.eval()
        return model


def new_classifier(
    spec: TrainingSpec, class_names: list[str], embedder: CachedEmbedder, *, device: str = "auto"
) -> TextClassifier:
    if spec.method == "head":
        return HeadClassifier(spec, class_names, embedder)
    return FinetuneClassifier(spec, class_names, device=device)


def load_classifier(
    folder: Path,
    spec: TrainingSpec,
    class_names: list[str],
    embedder: CachedEmbedder,
    *,
    device: str = "auto",
) -> TextClassifier:
    if spec.method == "head":
        return HeadClassifier.load(folder, spec, class_names, embedder)
    return FinetuneClassifier.load(folder, spec, class_names, device=device)


def out_of_fold_proba(
    spec: TrainingSpec,
    class_names: list[str],
    embedder: CachedEmbedder,
    item_ids: Sequence[str],
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    folds: int,
    device: str = "auto",
) -> np.ndarray:
    """(N, K) probabilities for each item from a model trained without it (K-fold).

    Folds are stratified by label where every class has enough items, seeded by
    ``spec.seed``; each fold trains one classifier of the configured method.
    """
    y = np.asarray(labels, dtype=object)
    n_folds = min(folds, len(y))
    counts = np.unique(y, return_counts=True)[1]
    splitter = (
        StratifiedKFold(n_folds, shuffle=True, random_state=spec.seed)
        if counts.min() >= n_folds
        else KFold(n_folds, shuffle=True, random_state=spec.seed)
    )
    oof = np.zeros((len(y), len(class_names)))
    ids, txt = list(item_ids), list(texts)
    for train, test in splitter.split(np.zeros(len(y)), y):
        model = new_classifier(spec, class_names, embedder, device=device)
        model.fit([ids[i] for i in train], [txt[i] for i in train], y[train].tolist())
        oof[test] = model.predict_proba([ids[i] for i in test], [txt[i] for i in test])
    return oof
