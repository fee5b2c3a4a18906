"""The image review queue: the text spine's selection (a uniform random calibration sample
plus the least confident items) over image auto-labels.

For detection the stratum of an image is its most frequent class and the "margin" is its
item confidence, so the uncertain part starts with the images the gate trusts least.

Human labels the new labels contradict (churn) and suspected human errors (label issues)
come back after the calibration part, as for text (:mod:`labelgate.models.active`): under
the purpose of their first review, so a calibration image stays in the calibration sample
and a re-check of any other image never becomes calibration evidence.
"""

import pandas as pd

from labelgate.images.label_sets import box_summary
from labelgate.images.labeling import dominant_class
from labelgate.review import select_review_queue


def select_image_queue(
    auto_labels: pd.DataFrame,
    items: pd.DataFrame,
    reviewed: pd.DataFrame,
    previous_purposes: dict[str, str],
    *,
    detection: bool,
    calibration_size: int,
    uncertain_size: int,
    seed: int,
) -> pd.DataFrame:
    """Queue rows with the columns of the text queue plus ``path, width, height`` (and
    ``boxes`` for detection); ``text`` holds the image path."""
    auto = auto_labels.drop_duplicates("item_id")
    if detection:
        scored = auto.assign(
            label=auto["boxes"].map(dominant_class), margin=auto["confidence"], entropy=0.0
        )
    else:
        scored = auto
    done = set(reviewed["item_id"])
    calibration_reviewed = int((reviewed["purpose"] == "calibration").sum())
    queued = {i for i, p in previous_purposes.items() if p == "calibration"} - done
    columns = ["item_id", "path", "width", "height"] + ["source_id"] * ("source_id" in items)
    images = items[columns].drop_duplicates("item_id")
    queue = select_review_queue(
        scored,
        images.rename(columns={"path": "text"}),
        already_reviewed=done,
        already_queued_calibration=queued,
        calibration_size=calibration_size,
        calibration_reviewed=calibration_reviewed,
        uncertain_size=uncertain_size,
        seed=seed,
    )
    queue = queue.merge(images, on="item_id", how="left")
    if detection:
        queue = queue.merge(auto[["item_id", "boxes"]], on="item_id", how="left")
    return queue.sort_values("rank", kind="stable").reset_index(drop=True)


def with_image_rechecks(
    queue: pd.DataFrame,
    rechecks: pd.DataFrame,
    *,
    reviewed: pd.DataFrame,
    auto_labels: pd.DataFrame,
    items: pd.DataFrame,
    detection: bool,
) -> pd.DataFrame:
    """``queue`` with the pending ``rechecks`` (``item_id``, ``suggested_label``) placed after
    its calibration rows, each under the purpose of the image's latest review, confidence 1
    and re-ranked. Class labels show the suggested label; box sets show the current fused
    boxes (the ones that contradict the human's) and their most frequent class."""
    if rechecks.empty:
        return queue
    latest = reviewed.drop_duplicates("item_id", keep="last").set_index("item_id")["purpose"]
    ids = rechecks["item_id"].astype(str)
    columns = [c for c in ("path", "width", "height", "source_id") if c in queue.columns]
    images = items.astype({"item_id": str}).drop_duplicates("item_id").set_index("item_id")
    rows = pd.DataFrame(
        {
            "item_id": ids.to_numpy(),
            "text": ids.map(images["path"]).astype(str).to_numpy(),
            "predicted_label": rechecks["suggested_label"].astype(str).to_numpy(),
            "confidence": 1.0,
            "purpose": ids.map(latest).astype(str).to_numpy(),
            **{c: ids.map(images[c]).to_numpy() for c in columns},
        }
    )
    if detection:
        auto = auto_labels.drop_duplicates("item_id", keep="last")
        by_id = dict(zip(auto["item_id"].astype(str), auto["boxes"], strict=True))
        fused = [[] if by_id.get(i) is None else list(by_id[i]) for i in ids]
        rows["boxes"] = pd.Series(fused, dtype=object).to_numpy()
        rows["predicted_label"] = [dominant_class(b) for b in fused]
    calibration = queue["purpose"] == "calibration"
    merged = pd.concat(
        [queue[calibration], rows, queue[~calibration]], ignore_index=True
    ).drop_duplicates("item_id", keep="first")
    when = queue["queued_at"].iloc[0] if len(queue) else pd.Timestamp.now(tz="UTC").isoformat()
    return (
        merged.assign(rank=range(1, len(merged) + 1), queued_at=when)
        .astype({"rank": "int64", "confidence": "float64"})[list(queue.columns)]
        .reset_index(drop=True)
    )


def queue_for_csv(queue: pd.DataFrame) -> pd.DataFrame:
    """A detection queue for the CSV file: ``predicted_label`` summarizes the predicted boxes
    (e.g. ``2 box(es): pill x2``)."""
    return queue.assign(predicted_label=queue["boxes"].map(box_summary))
