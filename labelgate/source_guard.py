"""The source folder as a boundary: which files may be read, and reasons fit for a ledger.

A file that must not be read is not skipped silently: ingestion quarantines it with the
reason :func:`file_problem` gives, so it is counted. Reasons pass through
:func:`clean_reason` so no memory address, control character or unbounded text reaches the
quarantine table or the ledger.
"""

import hashlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

REASON_LIMIT = 300
_ADDRESS = re.compile(r"\s*(?:object )?at 0x[0-9A-Fa-f]+")
_REPR = re.compile(r"<([A-Za-z_][\w.]*)(?: object)?>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
# Categories that draw nothing: controls, format characters (zero-width space, joiners,
# bidi marks, BOM), separators and combining marks with nothing to combine with.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp", "Mn", "Me"})
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")  # fillers drawn as blanks

B = TypeVar("B")


def file_problem(path: Path, root: Path) -> str | None:
    """Why ``path`` (a file found in the source folder ``root``) must not be read, or None.

    Hidden files, symbolic links that lead outside ``root`` (or nowhere) and anything that
    is not a regular file are refused; nothing is opened to decide.
    """
    relative = path.relative_to(root)
    if any(part.startswith(".") for part in relative.parts):
        return "hidden file (a name starting with '.'); rename it to ingest it"
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return "broken symbolic link" if path.is_symlink() else "cannot be resolved"
    if not target.is_relative_to(root.resolve()):
        return "symbolic link to a file outside the source folder"
    if not path.is_file():
        return "not a regular file"
    return None


def clean_reason(text: object) -> str:
    """A quarantine reason without memory addresses or control characters, one line long."""
    reason = _ADDRESS.sub("", str(text))
    reason = _REPR.sub(r"<\1>", reason)
    reason = _CONTROL.sub(" ", reason)
    reason = reason.encode("utf-8", "replace").decode("utf-8")  # lone surrogates → '?'
    reason = " ".join(reason.split())
    return reason if len(reason) <= REASON_LIMIT else reason[: REASON_LIMIT - 1] + "…"


def safe_text(text: str) -> str:
    """``text`` with lone surrogates (not storable as UTF-8) replaced by '?'."""
    return text.encode("utf-8", "replace").decode("utf-8")


def has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def is_invisible(text: str) -> bool:
    """True when no character of ``text`` draws anything (zero-width, NULs, blanks)."""
    return all(
        ch in _BLANK_LETTERS or unicodedata.category(ch) in _INVISIBLE_CATEGORIES for ch in text
    )


def settle_key_clashes(
    entries: Sequence[B],
    *,
    key: Callable[[B], str],
    name: Callable[[B], str],
    healthy: Callable[[B], bool],
    rename: Callable[[B, str, str], B],
) -> list[B]:
    """Give every entry its own batch key. Of entries whose names map to the same key, a
    readable one whose name *is* the key keeps it (then the first readable one by name);
    every other gets a key of its own and the problem ``rename(entry, new_key, reason)``
    records, so it is quarantined whole instead of stopping discovery."""
    groups: dict[str, list[B]] = {}
    for entry in entries:
        groups.setdefault(key(entry), []).append(entry)
    settled: list[B] = []
    for shared, group in groups.items():
        group = sorted(group, key=lambda e: (not healthy(e), name(e) != shared, name(e)))
        winner, *losers = group
        settled.append(winner)
        for loser in losers:
            digest = hashlib.sha256(name(loser).encode("utf-8", "surrogateescape")).hexdigest()
            reason = (
                f"its name maps to batch key {shared!r}, which {name(winner)!r} already uses; "
                "rename it"
            )
            settled.append(rename(loser, f"{shared[:180]}-{digest[:8]}", reason))
    return settled
