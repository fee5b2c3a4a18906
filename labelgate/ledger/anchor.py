"""Anchor the ledger's head outside the ledger database, signed with the project key.

After every ledger transaction that appended rows, the new head ``(project, seq, hash)`` is
signed with the project's Ed25519 key and appended as one JSON line to the *anchor file*
(opened ``O_APPEND``, one ``write`` per line, fsynced). :func:`anchor_problems` compares the
ledger with every anchor of its project: a row an anchor names must exist and have the
anchored hash, and the head must be anchored. So cutting rows from the end (and setting the
head back), re-hashing the whole chain after an edit, or appending rows without the key are
all found, even though each leaves a chain that is consistent on its own.

Where things live (see docs/ARCHITECTURE.md, "Threat model"):

- anchor file: env ``LABELGATE_ANCHOR_FILE``, else ``governance.anchor_file``, else
  ``{project_dir}/anchors/ledger_anchors.jsonl``; put it on WORM storage in production.
- private key (PKCS#8 PEM, created on first use with mode 0600): env
  ``LABELGATE_ANCHOR_KEY``, else ``governance.anchor_key``, else
  ``{project_dir}/keys/anchor_ed25519.pem``; the public key is written beside it as
  ``{key}.pub``. Verifying needs only the public key (env ``LABELGATE_ANCHOR_PUBLIC_KEY``
  names it on a host that has no private key).

A line: ``{"project", "seq", "hash", "at", "key_id", "signature"}``; the signature (hex)
covers the canonical JSON of ``[project, seq, hash, at]``; ``key_id`` is the first 16 hex of
the SHA-256 of the raw public key.
"""

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from labelgate.errors import LabelgateError
from labelgate.ledger.hashing import canonical_json

if TYPE_CHECKING:
    from labelgate.spec import ProjectSpec

ANCHOR_FILE_ENV = "LABELGATE_ANCHOR_FILE"
ANCHOR_KEY_ENV = "LABELGATE_ANCHOR_KEY"
ANCHOR_PUBLIC_KEY_ENV = "LABELGATE_ANCHOR_PUBLIC_KEY"

_KEYS: dict[Path, Ed25519PrivateKey] = {}
_KEYS_LOCK = threading.Lock()


class AnchorError(LabelgateError):
    """The anchor key or file cannot be read or written."""


@dataclass(frozen=True)
class AnchorEntry:
    line: int
    project: str
    seq: int
    hash: str
    at: str


def _signed_text(project: str, seq: int, digest: str, at: str) -> bytes:
    return canonical_json([project, seq, digest, at]).encode("utf-8")


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``data`` atomically; a file already there is left alone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process created the key first
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


class Anchor:
    """The anchor file and key of one project."""

    def __init__(self, file: Path, key: Path, public_key: Path | None = None) -> None:
        self.file = Path(file)
        self.key = Path(key)
        self.public_key_path = (
            Path(public_key) if public_key else self.key.with_name(f"{self.key.name}.pub")
        )

    # --- keys ---------------------------------------------------------------------------
    def private_key(self) -> Ed25519PrivateKey:
        """The signing key, created (with its ``.pub``) on first use."""
        with _KEYS_LOCK:
            cached = _KEYS.get(self.key)
            if cached is not None:
                return cached
            if not self.key.is_file():
                new = Ed25519PrivateKey.generate()
                pem = new.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                _write_new(self.key, pem, 0o600)
            try:
                loaded = serialization.load_pem_private_key(self.key.read_bytes(), None)
            except (OSError, ValueError, TypeError) as exc:
                raise AnchorError(f"anchor key {self.key} is not readable: {exc}") from None
            if not isinstance(loaded, Ed25519PrivateKey):
                raise AnchorError(f"anchor key {self.key} is not an Ed25519 private key")
            if not self.public_key_path.is_file():
                public_pem = loaded.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                _write_new(self.public_key_path, public_pem, 0o644)
            _KEYS[self.key] = loaded
            return loaded

    def public_key(self) -> Ed25519PublicKey | None:
        """The verifying key: the ``.pub`` file, else derived from the private key; None
        when neither exists (nothing was ever anchored)."""
        if self.public_key_path.is_file():
            try:
                loaded = serialization.load_pem_public_key(self.public_key_path.read_bytes())
            except ValueError as exc:
                raise AnchorError(f"anchor public key {self.public_key_path}: {exc}") from None
            if not isinstance(loaded, Ed25519PublicKey):
                raise AnchorError(f"{self.public_key_path} is not an Ed25519 public key")
            return loaded
        return self.private_key().public_key() if self.key.is_file() else None

    # --- writing ------------------------------------------------------------------------
    def record(self, project: str, seq: int, digest: str) -> None:
        """Append the signed head ``(project, seq, digest)`` to the anchor file."""
        key = self.private_key()
        at = datetime.now(UTC).isoformat(timespec="microseconds")
        entry = {
            "project": project,
            "seq": seq,
            "hash": digest,
            "at": at,
            "key_id": key_id(key.public_key()),
            "signature": key.sign(_signed_text(project, seq, digest, at)).hex(),
        }
        line = (json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n").encode()
        self.file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)  # one write of one line: appends never interleave
            os.fsync(fd)
        finally:
            os.close(fd)

    # --- reading ------------------------------------------------------------------------
    def entries(self, project: str) -> tuple[list[AnchorEntry], list[str]]:
        """The project's anchors that carry a valid signature, and a problem for each line
        that is malformed, signed by another key or whose signature fails."""
        if not self.file.is_file():
            return [], []
        public = self.public_key()
        if public is None:
            where = f"{self.key} / {self.public_key_path}"
            return [], [f"anchor file {self.file}: the key to check it is missing ({where})"]
        expected_id = key_id(public)
        found: list[AnchorEntry] = []
        problems: list[str] = []
        for number, text in _lines(self.file):
            where = f"anchor file {self.file} line {number}"
            try:
                entry = json.loads(text)
                if entry["project"] != project:
                    continue
                seq, digest, at = int(entry["seq"]), str(entry["hash"]), str(entry["at"])
                signature = bytes.fromhex(entry["signature"])
                signer = entry["key_id"]
            except (ValueError, KeyError, TypeError) as exc:
                problems.append(f"{where}: not a valid anchor ({exc.__class__.__name__}: {exc})")
                continue
            if signer != expected_id:
                problems.append(
                    f"{where}: signed by key {signer}, not the project key {expected_id}"
                )
                continue
            try:
                public.verify(signature, _signed_text(project, seq, digest, at))
            except InvalidSignature:
                problems.append(f"{where}: signature does not verify (the line was edited)")
                continue
            found.append(AnchorEntry(number, project, seq, digest, at))
        return found, problems


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, text in enumerate(handle, start=1):
            if text.strip():
                yield number, text


def anchor_for_project(spec: "ProjectSpec") -> Anchor:
    """The project's anchor file and key (env, then the project file, then defaults)."""
    governance = getattr(spec, "governance", None)
    file = os.environ.get(ANCHOR_FILE_ENV) or getattr(governance, "anchor_file", None)
    key = os.environ.get(ANCHOR_KEY_ENV) or getattr(governance, "anchor_key", None)
    public = os.environ.get(ANCHOR_PUBLIC_KEY_ENV)
    return Anchor(
        Path(file) if file else spec.project_dir / "anchors" / "ledger_anchors.jsonl",
        Path(key) if key else spec.project_dir / "keys" / "anchor_ed25519.pem",
        Path(public) if public else None,
    )
