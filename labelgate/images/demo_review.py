"""The image demo's simulated reviewers and its score against the truth.

Reviewers answer the queued Label Studio tasks with the true boxes (as a Label Studio JSON
export); the score says how the accepted labels fare against the truth.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from labelgate.images.boxes import Boxes, detection_scores, match_boxes
from labelgate.images.exchange import to_label_studio
from labelgate.storage import write_text_atomic


def simulate_box_reviews(
    tasks_path: Path,
    items: pd.DataFrame,
    truth: dict[str, Boxes],
    out: Path,
    *,
    limit: int | None = None,
    reviewer: str = "alice@bank.example",
) -> int:
    """Write a Label Studio export answering the queued tasks with the true boxes, as the
    Label Studio user ``reviewer`` (an e-mail the project's identities file lists)."""
    tasks = json.loads(Path(tasks_path).read_text())[:limit]
    rows = items.set_index("item_id")
    answered = []
    for task in tasks:
        item_id = task["data"]["item_id"]
        row = rows.loc[item_id]
        boxes = truth[Path(str(row["path"])).stem]
        result = to_label_studio(
            [{k: v for k, v in r.items() if k != "confidence"} for r in boxes.to_records()],
            int(row["width"]),
            int(row["height"]),
        )
        answered.append(
            {**task, "annotations": [{"completed_by": {"email": reviewer}, "result": result}]}
        )
    write_text_atomic(Path(out), json.dumps(answered, indent=1))
    return len(answered)


@dataclass(frozen=True)
class BoxOutcome:
    items: int
    auto_accepted: int
    human: int
    auto_exact: float | None  # share of auto-accepted images exactly right vs the truth
    auto_map50: float | None  # mAP50 of all auto-labels vs the truth

    @property
    def automation_rate(self) -> float:
        return self.auto_accepted / self.items if self.items else 0.0


def score_outcome(
    accepted: pd.DataFrame,
    auto_labels: pd.DataFrame,
    items: pd.DataFrame,
    truth: dict[str, Boxes],
    class_names: list[str],
) -> BoxOutcome:
    stem = {i: Path(str(p)).stem for i, p in zip(items["item_id"], items["path"], strict=True)}
    auto = accepted[accepted["source"] == "auto"]
    exact = [
        match_boxes(Boxes.from_records(b), truth[stem[i]]).exact
        for i, b in zip(auto["item_id"], auto["boxes"], strict=True)
    ]
    labels = auto_labels.drop_duplicates("item_id")
    predicted = [Boxes.from_records(b) for b in labels["boxes"]]
    true = [truth[stem[i]] for i in labels["item_id"]]
    scores = detection_scores(predicted, true, class_names) if len(labels) else None
    return BoxOutcome(
        items=len(labels),
        auto_accepted=len(auto),
        human=int((accepted["source"] == "human").sum()),
        auto_exact=sum(exact) / len(exact) if exact else None,
        auto_map50=None if scores is None else scores.map50,
    )
