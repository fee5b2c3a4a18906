"""Confusion-matrix PNG for model evaluation metadata."""

import matplotlib

matplotlib.use("Agg")
import io

import matplotlib.pyplot as plt
import numpy as np


def confusion_png(confusion: list[list[int]], classes: list[str], *, title: str) -> bytes:
    """Rows: true class, columns: predicted class; each cell shows its count."""
    matrix = np.asarray(confusion, dtype=int)
    size = 1.2 + 0.55 * len(classes)
    fig, axis = plt.subplots(figsize=(size + 1.5, size), dpi=90)
    axis.imshow(matrix, cmap="Blues")
    axis.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=7)
    axis.set_yticks(range(len(classes)), classes, fontsize=7)
    axis.set(xlabel="predicted", ylabel="human label", title=title)
    peak = matrix.max() if matrix.size else 0
    for (row, col), count in np.ndenumerate(matrix):
        color = "white" if peak and count > peak / 2 else "black"
        axis.text(col, row, str(count), ha="center", va="center", fontsize=7, color=color)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
