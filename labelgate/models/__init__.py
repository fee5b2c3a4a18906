"""Models distilled from a project's approved labels: training, evaluation, the registry,
champion/challenger promotion, the champion as a labeler, re-labeling and its churn.

This package's ``__init__`` imports nothing, so ``labelgate.spec`` can import
``labelgate.models.config`` without a cycle.
"""
