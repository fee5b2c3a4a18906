"""Labelers: each turns N items into an (N, K) probability array (NaN rows = abstain)."""

from labelgate.labelers.base import LabelerOutput, abstain_rows, rows_to_labels

__all__ = ["LabelerOutput", "abstain_rows", "rows_to_labels"]
