"""Synthetic regulated-domain corpus (bank customer messages) and a simulated reviewer."""

from labelgate.synth.bank_messages import (
    CLASSES,
    CorpusFiles,
    generate_messages,
    simulate_reviews,
    write_corpus,
)

__all__ = ["CLASSES", "CorpusFiles", "generate_messages", "simulate_reviews", "write_corpus"]
