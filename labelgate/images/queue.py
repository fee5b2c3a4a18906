"""The image review queue: the text spine's selection (a uniform random calibration sample
plus the least confident items) over image auto-labels.

For detection the stratum of an image is its most frequent class and the "margin" is its
item confidence, so the uncertain part starts with the images the gate trusts least.
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


def queue_for_csv(queue: pd.DataFrame) -> pd.DataFrame:
    """A detection queue for the CSV file: ``predicted_label`` summarizes the predicted boxes
    (e.g. ``2 box(es): pill x2``)."""
    return queue.assign(predicted_label=queue["boxes"].map(box_summary))
