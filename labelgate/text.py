"""Text normalization shared by ingestion, item ids and the simulated reviewer."""

import re
import unicodedata

_WHITESPACE_RUN = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Unicode NFC, strip, and collapse every internal whitespace run to one space."""
    return _WHITESPACE_RUN.sub(" ", unicodedata.normalize("NFC", text)).strip()
