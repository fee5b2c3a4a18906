"""Signed label-set decisions (Ed25519, via ``cryptography``).

A decision is the canonical JSON of ``project``, ``version``, ``content_sha256``,
``decision`` (approve/reject), ``reason``, ``signer`` and ``signed_at`` (ISO 8601, UTC),
signed with the signer's private key. The identities file carries each person's public key
(``public_key: "ed25519:<base64 of the 32 raw bytes>"``); only a signature that this key
verifies makes a decision valid, so typing someone's name is not enough to approve as them.
Because the version and content hash are inside the signed text, a signature made for one
label set cannot be replayed for another version or for changed content.

Private keys are PKCS#8 PEM files (``labelgate keygen``), named by ``--key`` or the env
``LABELGATE_KEY``; they never need to be on the server that runs the pipelines.
"""

import base64
import binascii
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from labelgate.errors import LabelgateError
from labelgate.ledger.hashing import canonical_json

KEY_ENV = "LABELGATE_KEY"
KEY_PREFIX = "ed25519:"
SIGNATURE_PREFIX = "ed25519:"
# A decision signed further in the future than this is refused (clock skew allowance).
MAX_CLOCK_SKEW = timedelta(minutes=5)


class SigningError(LabelgateError):
    """A key or signature is missing, malformed or does not verify."""


@dataclass(frozen=True)
class DecisionStatement:
    """What a steward signs: one decision on one label-set version of one project."""

    project: str
    version: int
    content_sha256: str
    decision: str  # "approve" | "reject"
    reason: str
    signer: str
    signed_at: str

    def message(self) -> bytes:
        """The exact bytes that are signed (canonical JSON)."""
        return canonical_json(asdict(self)).encode("utf-8")


@dataclass(frozen=True)
class SignedDecision:
    statement: DecisionStatement
    signature: str  # "ed25519:<base64>"

    def to_json(self) -> str:
        return json.dumps(
            {**asdict(self.statement), "signature": self.signature}, indent=2, sort_keys=True
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "signed decision") -> "SignedDecision":
        fields = ("project", "version", "content_sha256", "decision", "reason", "signer")
        missing = [f for f in (*fields, "signed_at", "signature") if f not in data]
        if missing:
            raise SigningError(f"{where} lacks the field(s) {missing}")
        try:
            statement = DecisionStatement(
                project=str(data["project"]),
                version=int(data["version"]),
                content_sha256=str(data["content_sha256"]),
                decision=str(data["decision"]),
                reason=str(data["reason"]),
                signer=str(data["signer"]),
                signed_at=str(data["signed_at"]),
            )
        except (TypeError, ValueError) as exc:
            raise SigningError(f"{where}: {exc}") from None
        return cls(statement, str(data["signature"]))

    @classmethod
    def read(cls, path: Path) -> "SignedDecision":
        if not path.is_file():
            raise SigningError(f"signed decision file {path} does not exist")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SigningError(f"signed decision file {path} is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise SigningError(f"signed decision file {path} must hold a JSON object")
        return cls.from_dict(data, where=f"signed decision file {path}")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- keys -------------------------------------------------------------------------------


def generate_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_line(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """``ed25519:<base64>``: the form the identities file holds."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return KEY_PREFIX + base64.b64encode(raw).decode("ascii")


def key_id(public_key: str) -> str:
    """A short fingerprint of a public key line (first 16 hex of its SHA-256)."""
    return hashlib.sha256(public_key.encode("ascii")).hexdigest()[:16]


def parse_public_key(line: str) -> Ed25519PublicKey:
    if not line.startswith(KEY_PREFIX):
        raise SigningError(f"public key {line!r} must start with {KEY_PREFIX!r}")
    try:
        raw = base64.b64decode(line[len(KEY_PREFIX) :], validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise SigningError(f"public key {line!r} is not a valid Ed25519 key: {exc}") from None


def write_private_key(key: Ed25519PrivateKey, path: Path) -> None:
    """Write the key readable by its owner only; refuses to overwrite an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SigningError(f"key file {path} already exists; not overwriting it") from None
    with os.fdopen(fd, "wb") as out:
        out.write(private_key_pem(key))


def load_private_key(path: Path | None = None) -> Ed25519PrivateKey:
    """The key at ``path``, else at the file the env ``LABELGATE_KEY`` names."""
    if path is None:
        from_env = os.environ.get(KEY_ENV)
        if not from_env:
            raise SigningError(
                f"no signing key: pass --key KEYFILE or set {KEY_ENV} to your private key file "
                "(make one with `labelgate keygen --as NAME`)"
            )
        path = Path(from_env)
    if not path.is_file():
        raise SigningError(f"key file {path} does not exist")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        problem = f"key file {path} is not an unencrypted PEM private key: {exc}"
        raise SigningError(problem) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"key file {path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


# --- signatures -------------------------------------------------------------------------


def sign(statement: DecisionStatement, key: Ed25519PrivateKey) -> SignedDecision:
    raw = key.sign(statement.message())
    return SignedDecision(statement, SIGNATURE_PREFIX + base64.b64encode(raw).decode("ascii"))


def signature_valid(statement: DecisionStatement, signature: str, public_key: str) -> bool:
    """Whether ``signature`` over ``statement`` verifies with ``public_key``."""
    if not signature.startswith(SIGNATURE_PREFIX):
        return False
    try:
        raw = base64.b64decode(signature[len(SIGNATURE_PREFIX) :], validate=True)
        parse_public_key(public_key).verify(raw, statement.message())
    except (binascii.Error, ValueError, InvalidSignature, SigningError):
        return False
    return True


def signed_at_problem(signed_at: str, *, now: datetime | None = None) -> str | None:
    """Why ``signed_at`` is unacceptable (unparseable, no time zone, in the future)."""
    try:
        when = datetime.fromisoformat(signed_at)
    except ValueError:
        return f"signed_at {signed_at!r} is not an ISO 8601 time"
    if when.tzinfo is None:
        return f"signed_at {signed_at!r} has no time zone"
    if when - (now or datetime.now(UTC)) > MAX_CLOCK_SKEW:
        return f"signed_at {signed_at} is in the future"
    return None


# --- checking a decision against what it must say ---------------------------------------

_BOUND_FIELDS = ("project", "version", "content_sha256", "decision", "signer", "reason")


def decision_problems(
    signed: SignedDecision | None,
    expected: DecisionStatement,
    *,
    public_key: str | None,
    used: dict[str, int] | None = None,
) -> list[str]:
    """Why ``signed`` does not make the decision ``expected`` valid ([] when it does).

    ``expected.signed_at`` is ignored; ``used`` maps signatures already in the ledger to
    their rows (a signature is good for one decision only).
    """
    who = expected.signer
    if signed is None:
        return [
            f"unsigned decision: {who} must sign it with their private key (labelgate "
            f"approve/reject --key KEYFILE or {KEY_ENV}; in Dagster, the signed_decision_file "
            "or signature field)"
        ]
    if public_key is None:
        return [
            f"{who} has no public_key in the identities file, so no signature of theirs can "
            f"be checked (make one with `labelgate keygen --as {who}`)"
        ]
    problems = [
        f"the signed decision is for {name} {getattr(signed.statement, name)!r}, not "
        f"{getattr(expected, name)!r} (a signature is valid for one decision only)"
        for name in _BOUND_FIELDS
        if getattr(signed.statement, name) != getattr(expected, name)
    ]
    if problems:
        return problems
    late = signed_at_problem(signed.statement.signed_at)
    if late:
        return [late]
    if not signature_valid(signed.statement, signed.signature, public_key):
        return [
            f"the signature does not verify with {who}'s public key {key_id(public_key)} "
            "(forged, or signed with another key)"
        ]
    if used and signed.signature in used:
        return [f"replayed: this signature was already used at ledger row {used[signed.signature]}"]
    return []
