"""Small PNG plots for asset metadata: reliability diagram and confidence histogram."""

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def reliability_png(
    calibration_confidence: np.ndarray,
    calibration_correct: np.ndarray,
    all_confidence: np.ndarray,
    *,
    threshold: float | None = None,
    bins: int = 10,
) -> bytes:
    """Left: accuracy per confidence bin on the calibration reviews. Right: histogram of the
    confidence of all auto-labels, with the gate threshold."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6), dpi=90)
    edges = np.linspace(0, 1, bins + 1)
    correct = np.asarray(calibration_correct, dtype=bool)
    if len(correct):
        which = np.clip(np.digitize(calibration_confidence, edges) - 1, 0, bins - 1)
        centers, accuracy, counts = [], [], []
        for b in range(bins):
            in_bin = which == b
            if in_bin.any():
                centers.append((edges[b] + edges[b + 1]) / 2)
                accuracy.append(float(np.mean(correct[in_bin])))
                counts.append(int(in_bin.sum()))
        left.bar(centers, accuracy, width=1 / bins * 0.9, color="#4c78a8", label="reviewed")
        for x, y, n in zip(centers, accuracy, counts, strict=True):
            left.text(x, min(y + 0.02, 0.98), str(n), ha="center", fontsize=7)
    left.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    left.set(
        xlabel="confidence",
        ylabel="accuracy on calibration reviews",
        xlim=(0, 1),
        ylim=(0, 1),
        title="Reliability",
    )
    left.legend(fontsize=7, loc="upper left")
    right.hist(all_confidence, bins=edges, color="#72b7b2")
    if threshold is not None:
        right.axvline(threshold, color="#e45756", label=f"gate threshold {threshold:.3f}")
        right.legend(fontsize=7)
    right.set(xlabel="confidence", ylabel="items", title="Confidence of auto-labels")
    return _png(fig)


def confidence_histogram_png(confidence: np.ndarray, *, bins: int = 20) -> bytes:
    """Histogram of label confidences."""
    fig, axis = plt.subplots(figsize=(5, 3), dpi=90)
    axis.hist(
        np.asarray(confidence, dtype=float), bins=np.linspace(0, 1, bins + 1), color="#72b7b2"
    )
    axis.set(xlabel="confidence", ylabel="items", title="Confidence of auto-labels")
    return _png(fig)


def _png(fig: plt.Figure) -> bytes:
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def png_markdown(png: bytes, alt: str = "plot") -> str:
    """Markdown that embeds a PNG inline (rendered by the Dagster UI's metadata view)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"
