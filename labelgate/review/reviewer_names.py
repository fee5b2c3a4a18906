"""What a reviewer name in a review file may be: short, valid Unicode, visible characters.

Checked while a file is validated, so a name that the ledger (``actor``: at most 200
characters) or a Parquet file could not hold refuses the file before anything is stored,
instead of failing half-way through an import.
"""

import unicodedata

MAX_REVIEWER_CHARS = 100
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def reviewer_problem(reviewer: str) -> str | None:
    """Why ``reviewer`` cannot be stored as a reviewer name, or None when it can."""
    if len(reviewer) > MAX_REVIEWER_CHARS:
        return (
            f"reviewer name is {len(reviewer)} characters long; at most "
            f"{MAX_REVIEWER_CHARS} are allowed"
        )
    try:
        reviewer.encode("utf-8")
    except UnicodeEncodeError:
        return "reviewer name is not valid Unicode (a lone surrogate)"
    hidden = sorted(
        {f"U+{ord(c):04X}" for c in reviewer if unicodedata.category(c) in _HIDDEN_CATEGORIES}
    )
    if hidden:
        return f"reviewer name holds control or invisible characters ({', '.join(hidden[:5])})"
    return None
