"""The evaluation bucket: a fixed share of items, chosen by a hash of the item id.

An item's bucket never changes (it depends on its id and the salt only), so every model of a
project is evaluated on, and never trained on, the same items, round after round; the
human-reviewed members of the bucket are the evaluation split.
"""

import hashlib
from collections.abc import Iterable

import numpy as np

SALT = "labelgate-eval-v1"


def bucket_position(item_id: str, *, salt: str = SALT) -> float:
    """A uniform number in [0, 1) determined by the item id."""
    digest = hashlib.sha256(f"{salt}:{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def in_eval_bucket(item_ids: Iterable[str], fraction: float, *, salt: str = SALT) -> np.ndarray:
    """Boolean mask: which items belong to the evaluation bucket."""
    if not 0 < fraction < 1:
        raise ValueError(f"eval fraction must be in (0, 1), got {fraction}")
    return np.array([bucket_position(str(i), salt=salt) < fraction for i in item_ids], dtype=bool)
