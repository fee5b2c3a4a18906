"""A toy corpus of bank messages for labeler tests: three classes, each with its own words,
mixed with common filler and ended by a tag that keeps every message distinct."""

import numpy as np

from labelgate.spec import ClassSpec

CLASSES = [
    ClassSpec(name="card_fraud", description="stolen card fraud unauthorised transaction blocked"),
    ClassSpec(name="loan_inquiry", description="loan mortgage interest rate borrow repayments"),
    ClassSpec(name="address_change", description="moved house new postal address update"),
]
NAMES = [c.name for c in CLASSES]
WORDS = {
    "card_fraud": ["stolen", "card", "fraud", "unauthorised", "transaction", "blocked", "scam"],
    "loan_inquiry": ["loan", "mortgage", "interest", "rate", "borrow", "repayments", "finance"],
    "address_change": ["moved", "house", "new", "postal", "address", "update", "letters"],
}
FILLER = ["please", "help", "today", "my", "bank", "thanks", "hello", "account"]


def messages(label: str, n: int, rng: np.random.Generator, tag: str = "ref") -> list[str]:
    """``n`` messages of three of the class's words and two filler words, shuffled, each
    ended by ``{tag}{i}``."""
    out: list[str] = []
    for i in range(n):
        words = [*rng.choice(WORDS[label], 3, replace=False), *rng.choice(FILLER, 2)]
        out.append(" ".join(rng.permutation(words)) + f" {tag}{i}")
    return out
