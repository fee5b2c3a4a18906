"""Report pieces every modality shares: counts tables, confidence histograms, gate numbers."""

import numpy as np
import pandas as pd

from labelgate.modalities.base import Markdown, Report
from labelgate.plots import confidence_histogram_png, png_markdown


def counts_markdown(counts: pd.Series, unit: str = "items") -> Markdown:
    """A Markdown table of counts per class, classes sorted by name."""
    table = f"| class | {unit} |\n|---|---|\n" + "\n".join(
        f"| {label} | {count} |" for label, count in counts.sort_index().items()
    )
    return Markdown(table)


def class_distribution(labels: pd.Series) -> Markdown:
    return counts_markdown(labels.value_counts())


def present(**values: float | None) -> dict[str, float]:
    """Numeric metadata without the values that do not exist (no threshold, no reviews yet):
    left out instead of a -1 or 0 sentinel that the UI's plots would draw as data."""
    return {name: value for name, value in values.items() if value is not None}


def confidence_report(auto: pd.DataFrame) -> Report:
    """Mean confidence (when there are items) and the confidence histogram."""
    confidence = auto["confidence"].to_numpy(dtype=float)
    mean = float(np.mean(confidence)) if len(auto) else None  # no 0 drawn for an empty batch
    return {
        **present(mean_confidence=mean),
        "confidence_histogram": Markdown(
            png_markdown(confidence_histogram_png(confidence), "confidence histogram")
        ),
    }
