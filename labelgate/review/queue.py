"""Which items a human reviews next: a calibration sample plus the most uncertain items.

The calibration part is a uniform random sample of the items nobody has reviewed yet,
stratified by predicted label with proportional allocation, so every unreviewed item has the
same chance to be drawn; the gate estimates accuracy from it. The uncertain part is ordered
for active learning and never enters the accuracy estimate.
"""

from datetime import UTC, datetime

import numpy as np
import pandas as pd

QUEUE_COLUMNS = [
    "item_id",
    "text",
    "predicted_label",
    "confidence",
    "purpose",
    "rank",
    "queued_at",
]
_AUTO_COLUMNS = ("item_id", "label", "confidence", "margin", "entropy")


def allocate_proportional(
    sizes: dict[str, int], n: int, rng: np.random.Generator
) -> dict[str, int]:
    """Split ``n`` draws over strata in proportion to their sizes (largest remainder).

    Equal remainders are ordered at random with ``rng``; ``n`` above the total takes all.
    """
    total = sum(sizes.values())
    if n >= total:
        return dict(sizes)
    keys = sorted(sizes)
    alloc = {k: n * sizes[k] // total for k in keys}
    remainder = {k: n * sizes[k] % total for k in keys}  # exact: quota = alloc + rem/total
    tiebreak = dict(zip(keys, rng.permutation(len(keys)), strict=True))
    order = sorted(keys, key=lambda k: (-remainder[k], tiebreak[k]))
    for k in order[: n - sum(alloc.values())]:
        alloc[k] += 1
    return alloc


def _draw_calibration(pool: pd.DataFrame, n: int, rng: np.random.Generator) -> list[str]:
    if n <= 0 or pool.empty:
        return []
    strata = {str(k): g for k, g in pool.groupby("label", sort=True)}
    alloc = allocate_proportional({k: len(g) for k, g in strata.items()}, n, rng)
    picked: list[str] = []
    for key in sorted(strata):
        ids = np.sort(strata[key]["item_id"].to_numpy(dtype=object))
        picked.extend(ids[rng.choice(len(ids), size=alloc[key], replace=False)])
    return [picked[i] for i in rng.permutation(len(picked))]


def select_review_queue(
    auto_labels: pd.DataFrame,
    texts: pd.DataFrame,
    *,
    already_reviewed: set[str],
    already_queued_calibration: set[str],
    calibration_size: int,
    calibration_reviewed: int = 0,
    uncertain_size: int,
    seed: int,
    queued_at: str | None = None,
) -> pd.DataFrame:
    """Build the ``review_queue`` table: calibration items first, then uncertain ones.

    ``calibration_size`` is the project's total calibration sample: the
    ``calibration_reviewed`` items already reviewed as calibration and those already queued
    but not reviewed yet (they stay, first) count towards it; only the shortfall is drawn,
    from items nobody has reviewed. Within the calibration
    part the order is random, so any prefix a reviewer finishes is itself a random sample.
    The uncertain part takes the smallest ``margin`` first, ties by highest ``entropy``.
    The result depends only on the inputs and ``seed``, not on row order.
    """
    missing = [c for c in _AUTO_COLUMNS if c not in auto_labels.columns]
    if missing:
        raise ValueError(f"auto_labels lacks column(s) {missing}")
    if calibration_size < 0 or uncertain_size < 0:
        raise ValueError("calibration_size and uncertain_size must be >= 0")
    rng = np.random.default_rng(seed)
    labels = (
        auto_labels.loc[:, list(_AUTO_COLUMNS)]
        .astype({"item_id": str, "label": str})
        .drop_duplicates("item_id", keep="last")
        .sort_values("item_id", kind="stable")
    )
    pool = labels[~labels["item_id"].isin(list(already_reviewed))]

    kept_ids = sorted(set(pool["item_id"]) & set(already_queued_calibration))
    kept = [kept_ids[i] for i in rng.permutation(len(kept_ids))]
    fresh = pool[~pool["item_id"].isin(kept)]
    drawn = _draw_calibration(fresh, calibration_size - calibration_reviewed - len(kept), rng)
    calibration = kept + drawn

    rest = pool[~pool["item_id"].isin(calibration)]
    uncertain = rest.sort_values(
        ["margin", "entropy", "item_id"], ascending=[True, False, True], kind="stable"
    ).head(uncertain_size)

    by_id = pool.set_index("item_id")
    order = pd.DataFrame(
        {
            "item_id": calibration + uncertain["item_id"].tolist(),
            "purpose": ["calibration"] * len(calibration) + ["uncertain"] * len(uncertain),
        }
    )
    text_by_id = texts.astype({"item_id": str}).drop_duplicates("item_id").set_index("item_id")
    lacking = sorted(set(order["item_id"]) - set(text_by_id.index))
    if lacking:
        raise ValueError(f"no text for {len(lacking)} queued item(s), e.g. {lacking[:5]}")
    when = queued_at or datetime.now(UTC).isoformat(timespec="seconds")
    ids = order["item_id"].tolist()
    return pd.DataFrame(
        {
            "item_id": pd.Series(ids, dtype=str),
            "text": pd.Series(text_by_id.loc[ids, "text"].tolist(), dtype=str),
            "predicted_label": pd.Series(by_id.loc[ids, "label"].tolist(), dtype=str),
            "confidence": pd.Series(by_id.loc[ids, "confidence"].tolist(), dtype="float64"),
            "purpose": pd.Series(order["purpose"].tolist(), dtype=str),
            "rank": pd.Series(np.arange(1, len(ids) + 1), dtype="int64"),
            "queued_at": pd.Series([when] * len(ids), dtype=str),
        },
        columns=QUEUE_COLUMNS,
    )
