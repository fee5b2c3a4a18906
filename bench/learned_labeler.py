"""The contrastive labeler (fine-tuned MiniLM) vs the frozen-embedding head, on the same reviews.

A banking77 configuration (default ``small24``: ~1,200 items over 24 intents) with a random
review sample of ``--budget`` of the items; both labelers are fitted on it. Printed: the
contrastive labeler's wall time per fit (one review round: ``oof_folds + 1`` fine-tunes and
the re-encoding of every item), the out-of-fold accuracy on the reviews, and the accuracy on
the unreviewed items, of each labeler and of the two through the label model. A second fit
on the same reviews shows the cache (no training).

    python bench/learned_labeler.py [--config small24] [--seed 0] [--threads 2]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from bench.configs import CONFIGS, subsample
from labelgate.aggregate import posterior
from labelgate.embeddings import CachedEmbedder, EmbeddingCache, MiniLMEncoder
from labelgate.ids import text_item_id
from labelgate.labelers.contrastive import ContrastiveLabeler
from labelgate.labelers.embedding import EmbeddingLabeler
from labelgate.spec import ClassSpec, ContrastiveLabelerSpec, EmbeddingLabelerSpec


def accuracy(probs: np.ndarray, y: np.ndarray, names: np.ndarray, rows: np.ndarray) -> float:
    return float((names[probs[rows].argmax(axis=1)] == y[rows]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="small24")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=0.2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path("var/bench_cache/embeddings.sqlite"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    frame = subsample(CONFIGS[args.config])
    texts = frame["text"].tolist()
    ids = [text_item_id(t) for t in texts]
    y = frame["true_label"].to_numpy()
    names = np.array(sorted(set(y)))
    classes = [ClassSpec(name=c, description=c.replace("_", " ")) for c in names]
    rng = np.random.default_rng(args.seed)
    reviewed = rng.choice(len(y), round(args.budget * len(y)), replace=False)
    unreviewed = np.setdiff1d(np.arange(len(y)), reviewed)
    cache = EmbeddingCache(args.cache)
    frozen = EmbeddingLabeler(
        EmbeddingLabelerSpec(type="embedding"), classes,
        CachedEmbedder(MiniLMEncoder(), cache), seed=args.seed,
    )  # fmt: skip
    review_args = ([ids[i] for i in reviewed], [texts[i] for i in reviewed], y[reviewed].tolist())
    frozen.fit(*review_args)
    with tempfile.TemporaryDirectory() as tmp:
        learner = ContrastiveLabeler(
            ContrastiveLabelerSpec(type="contrastive"), classes, cache=EmbeddingCache(
                Path(tmp) / "e.sqlite"), seed=args.seed, model_dir=Path(tmp) / "models",
        )  # fmt: skip
        started = time.perf_counter()
        learner.fit(*review_args)
        outputs = [frozen.predict(ids, texts), learner.predict(ids, texts)]
        round_seconds = time.perf_counter() - started
        again = ContrastiveLabeler(
            ContrastiveLabelerSpec(type="contrastive"), classes,
            cache=EmbeddingCache(Path(tmp) / "e.sqlite"), seed=args.seed,
            model_dir=Path(tmp) / "models",
        )  # fmt: skip
        started = time.perf_counter()
        again.fit(*review_args)
        again.predict(ids, texts)
        cached_seconds = time.perf_counter() - started
    both = posterior(outputs, {"embedding": True, "contrastive": True}, len(names))
    print(f"{args.config} seed {args.seed}: {len(y)} items, {len(reviewed)} reviews, "
          f"{torch.get_num_threads()} threads")  # fmt: skip
    print(f"contrastive round (fit + label every item): {round_seconds:.0f}s; "
          f"again on the same reviews (cache): {cached_seconds:.1f}s")  # fmt: skip
    for name, probs in (("frozen head", outputs[0].probs), ("contrastive", outputs[1].probs),
                        ("label model (both)", both)):  # fmt: skip
        print(f"{name:20s} out-of-fold accuracy {accuracy(probs, y, names, reviewed):.3f}  "
              f"unreviewed accuracy {accuracy(probs, y, names, unreviewed):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
