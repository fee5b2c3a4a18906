"""Project-file dicts for tests: the keys every project needs, in the order a file lists them."""

from collections.abc import Mapping, Sequence
from typing import Any


def project_data(
    *,
    name: str,
    modality: str,
    classes: Mapping[str, str],
    labelers: Sequence[Mapping[str, Any]],
    **extra: Any,
) -> dict[str, Any]:
    """A project reading ``inbox`` with ``classes`` (name → description), ``labelers`` and any
    ``extra`` top-level keys (which win)."""
    return {
        "name": name,
        "modality": modality,
        "source": {"path": "inbox"},
        "classes": [{"name": c, "description": d} for c, d in classes.items()],
        "labelers": [dict(labeler) for labeler in labelers],
        **extra,
    }
