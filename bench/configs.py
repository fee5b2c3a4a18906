"""The benchmark's data configurations: which banking77 / sms_spam items, and the review budget.

``small24``: ~1,200 items over 24 intents drawn at random (fixed seed), 20% budget;
``mid77``: ~3,000 items over all 77 intents, 20% budget; ``full10``: every banking77 item at a
10% budget; ``banking77`` / ``sms_spam``: every item at a 20% budget (the original rows).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from labelgate.text import normalize_text

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
SUBSAMPLE_SEED = 2026  # fixed: every run and seed sees the same items


@dataclass(frozen=True)
class BenchConfig:
    name: str
    dataset: str
    budget: float  # share of the items reviewed
    n_classes: int | None = None  # None: all classes
    n_items: int | None = None  # None: all items of the chosen classes


CONFIGS = {
    c.name: c
    for c in (
        BenchConfig("sms_spam", "sms_spam", 0.20),
        BenchConfig("banking77", "banking77", 0.20),
        BenchConfig("small24", "banking77", 0.20, n_classes=24, n_items=1200),
        BenchConfig("mid77", "banking77", 0.20, n_items=3000),
        BenchConfig("full10", "banking77", 0.10),
    )
}


def load(name: str) -> pd.DataFrame:
    """``text``, ``true_label`` of a data set, exact duplicates (after normalization) dropped."""
    if name == "sms_spam":
        frame = pd.read_csv(
            DATA / "sms_spam" / "SMSSpamCollection", sep="\t", dtype=str, quoting=3
        ).rename(columns={"SMS": "text", "Label": "true_label"})
    elif name == "banking77":
        frame = pd.read_csv(DATA / "banking77" / "train.csv", dtype=str).rename(
            columns={"category": "true_label"}
        )
    else:
        raise SystemExit(f"unknown data set {name!r}")
    frame["text"] = frame["text"].map(normalize_text)
    frame = frame[frame["text"] != ""]
    return frame.drop_duplicates("text").reset_index(drop=True)[["text", "true_label"]]


def subsample(config: BenchConfig) -> pd.DataFrame:
    """The config's items: ``n_classes`` random classes, then ``n_items`` random items of them."""
    frame = load(config.dataset)
    rng = np.random.default_rng(SUBSAMPLE_SEED)
    if config.n_classes is not None:
        classes = sorted(frame["true_label"].unique())
        chosen = set(rng.choice(classes, config.n_classes, replace=False).tolist())
        frame = frame[frame["true_label"].isin(chosen)]
    if config.n_items is not None and config.n_items < len(frame):
        frame = frame.iloc[np.sort(rng.choice(len(frame), config.n_items, replace=False))]
    return frame.reset_index(drop=True)
