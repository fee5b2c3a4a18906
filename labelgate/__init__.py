"""labelgate domain package: pure Python, no Dagster imports.

Conventions used throughout: N items, K classes. A labeler's output for N items is an
(N, K) float array of class probabilities whose rows sum to 1, or a row of NaN where the
labeler abstains. Item ids are content hashes (see ``labelgate.ids``).
"""

__version__ = "0.1.0"
