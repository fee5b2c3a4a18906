"""What each batch's last successful labeling run read and wrote, so a re-run skips it.

A batch is *current* when everything its labels depend on is as it was when it was last
labeled and its output tables are the very files that run wrote:

- inputs: the project file's settings, the source file (path, size, SHA-256 of its bytes), the
  reviewed labels table (few-shot labelers train on it), the encoder and the champion model;
- outputs: the batch's ``raw_items``, ``candidate_labels`` and ``auto_labels`` files (size,
  modification time), so a table rewritten by anything else (a sensor's run, a re-label, a
  recovery) makes the batch stale again.

The project-wide tables (``accepted_labels``, the review queue) are current when every batch
and the reviewed labels are. The state lives in ``{project}/run_state.json``; deleting it (or
``labelgate run --force``) labels everything again.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from labelgate.ids import sha256_file
from labelgate.storage import write_text_atomic

STATE_FILE = "run_state.json"
PUBLISH = "__publish__"


def file_stamp(path: Path) -> list[object] | None:
    """(size, modification time in ns) of a file, None where it does not exist."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def content_stamp(path: Path) -> list[object] | None:
    """(size, SHA-256 of the bytes) of an input file, None where it does not exist.

    Inputs are hashed rather than stamped by modification time: a copy that keeps mtimes
    (``rsync -t``, ``cp -p``) can replace a file by another of the same size. A folder (a
    partitioned table) falls back to ``file_stamp``.
    """
    if not path.is_file():
        return file_stamp(path)
    return [path.stat().st_size, sha256_file(path)]


def digest(parts: Mapping[str, object]) -> str:
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class RunState:
    """Fingerprints of inputs and outputs per batch key (and ``PUBLISH``)."""

    def __init__(self, project_dir: Path) -> None:
        self.path = project_dir / STATE_FILE
        self._entries: dict[str, dict[str, object]] = self._load()

    def _load(self) -> dict[str, dict[str, object]]:
        if not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return {}  # an unreadable state only costs a full re-run
        return data if isinstance(data, dict) else {}

    def is_current(self, key: str, inputs: str, outputs: Iterable[Path]) -> bool:
        entry = self._entries.get(key)
        if not entry or entry.get("inputs") != inputs:
            return False
        stamps = [file_stamp(p) for p in outputs]
        return None not in stamps and entry.get("outputs") == digest({"files": stamps})

    def record(self, key: str, inputs: str, outputs: Iterable[Path]) -> None:
        stamps = [file_stamp(p) for p in outputs]
        if None in stamps:
            return  # a run that left no table is never taken as done
        self._entries[key] = {"inputs": inputs, "outputs": digest({"files": stamps})}

    def forget(self) -> None:
        self._entries = {}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.path, json.dumps(self._entries, sort_keys=True, indent=1))
