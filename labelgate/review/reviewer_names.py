"""What a reviewer name in a review file may hold before it is resolved to an identity.

Checked while a file is validated, so a name that the ledger or a Parquet file could not hold
refuses the file before anything is stored, instead of failing half-way through an import.
Length, control characters and invisible format characters are the identities module's
rules (:func:`labelgate.identities.name_problem`: control characters refuse the name,
zero-width and bidi characters are removed before comparing); this adds what it does not see.
"""

import unicodedata

# Surrogates, private use, unassigned code points, line and paragraph separators.
_UNSTORABLE_CATEGORIES = frozenset({"Cs", "Co", "Cn", "Zl", "Zp"})


def reviewer_problem(reviewer: str) -> str | None:
    """Why ``reviewer`` cannot be stored as a reviewer name, or None when it can."""
    try:
        reviewer.encode("utf-8")
    except UnicodeEncodeError:
        return "reviewer name is not valid Unicode (a lone surrogate)"
    odd = sorted(
        {f"U+{ord(c):04X}" for c in reviewer if unicodedata.category(c) in _UNSTORABLE_CATEGORIES}
    )
    if odd:
        listed = ", ".join(odd[:5])
        return f"reviewer name holds unassigned, private or separator characters ({listed})"
    return None
