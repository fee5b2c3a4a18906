"""Content-addressed ids for items and artifacts."""

import hashlib
from pathlib import Path

ITEM_ID_LENGTH = 16


def text_item_id(normalized_text: str) -> str:
    """Item id of a text item: a prefix of the SHA-256 of its normalized text."""
    return hashlib.sha256(normalized_text.encode("utf-8")).hexdigest()[:ITEM_ID_LENGTH]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def artifact_version(path: Path) -> str:
    """A short content hash of a model file or folder (every file in it, by relative path)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model {path} does not exist")
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:
        digest.update((file.relative_to(path).as_posix() if path.is_dir() else file.name).encode())
        digest.update(sha256_file(file).encode())
    return digest.hexdigest()[:12]
