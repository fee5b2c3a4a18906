"""Churn of a re-label: which labels flipped, between which classes, and which source
caused each flip.

A batch's *label state* is, per item, the label model's label and every source's vote with
its version. Comparing the state before and after a re-label gives the flips; a flip is
caused by the sources whose vote changed (``label_model`` when none did: the label model
re-weighted unchanged votes). A flip on a human-reviewed item whose new label disagrees with
the human is never applied silently: it is marked for review.

What "the label changed" means is the modality's (:class:`ChurnKind`): for text a different
class; for detection a box set that no longer matches at IoU 0.5
(:mod:`labelgate.models.box_churn`).
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd

from labelgate.models.labeler import CHAMPION_LABELER

STATE_COLUMNS = ["item_id", "label", "votes", "versions"]
CHURN_COLUMNS = [
    "item_id",
    "batch",
    "old_label",
    "new_label",
    "causes",
    "human_label",
    "to_review",
    "reported_at",
]


class ChurnKind:
    """How labels of one modality are compared; this base compares class names (text and
    image classification)."""

    def changed(self, old: str, new: str) -> bool:
        return old != new

    def display(self, label: str) -> str:
        """The label as the churn report shows it."""
        return label

    def class_delta(self, old: str, new: str) -> dict[str, tuple[int, int]]:
        """Per class: (labels lost, labels gained) by the change ``old`` -> ``new``."""
        return {old: (1, 0), new: (0, 1)}

    def human_labels(self, reviewed: pd.DataFrame) -> pd.Series:
        """The latest human label per item id, comparable with the state's ``label``."""
        latest = reviewed.drop_duplicates("item_id", keep="last").set_index("item_id")
        return latest["label"].astype(str)


CLASS_CHURN = ChurnKind()


def label_state(auto_labels: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    """Per item: the auto-label, each source's vote (null = abstained) and version, as JSON."""
    votes: dict[str, dict[str, str | None]] = {}
    versions: dict[str, dict[str, str]] = {}
    for item_id, labeler, version, label in zip(
        candidates["item_id"],
        candidates["labeler"],
        candidates["labeler_version"],
        candidates["label"],
        strict=True,
    ):
        votes.setdefault(item_id, {})[labeler] = None if pd.isna(label) else str(label)
        versions.setdefault(item_id, {})[labeler] = str(version)
    auto = auto_labels.drop_duplicates("item_id", keep="last")
    return pd.DataFrame(
        {
            "item_id": auto["item_id"].astype(str).to_numpy(),
            "label": auto["label"].astype(str).to_numpy(),
            "votes": [json.dumps(votes.get(i, {}), sort_keys=True) for i in auto["item_id"]],
            "versions": [json.dumps(versions.get(i, {}), sort_keys=True) for i in auto["item_id"]],
        },
        columns=STATE_COLUMNS,
    )


@dataclass(frozen=True)
class Churn:
    batch: str
    items: int
    new_items: int
    rescored: int  # items the champion (re-)scored: new, or last scored by another version
    flips: pd.DataFrame  # CHURN_COLUMNS
    champion: str | None
    previous_champions: list[str] = field(default_factory=list)
    by_class: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def flipped(self) -> int:
        return len(self.flips)

    @property
    def rate(self) -> float | None:
        """Share of the items labeled before (not new) whose label flipped."""
        compared = self.items - self.new_items
        return round(self.flipped / compared, 6) if compared else None

    @property
    def to_review(self) -> int:
        return int(self.flips["to_review"].sum()) if len(self.flips) else 0

    def flips_by_class(self) -> dict[str, dict[str, int]]:
        """Per class: how many labels (boxes, for detection) left it (``lost``) and how many
        joined it (``gained``)."""
        return dict(sorted(self.by_class.items()))

    def transitions(self) -> dict[str, int]:
        pairs = self.flips["old_label"] + " -> " + self.flips["new_label"]
        return {str(k): int(v) for k, v in pairs.value_counts().sort_index().items()}

    def causes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for causes in self.flips["causes"]:
            for cause in causes.split(","):
                counts[cause] = counts.get(cause, 0) + 1
        return dict(sorted(counts.items()))

    def summary(self) -> dict:
        return {
            "batch": self.batch,
            "items": self.items,
            "new_items": self.new_items,
            "rescored": self.rescored,
            "flipped": self.flipped,
            "churn_rate": self.rate,
            "to_review": self.to_review,
            "champion": self.champion,
            "previous_champions": self.previous_champions,
            "flips_by_class": self.flips_by_class(),
            "transitions": self.transitions(),
            "causes": self.causes(),
        }


def _causes(old_votes: dict, new_votes: dict) -> str:
    changed = sorted(
        name
        for name in set(old_votes) | set(new_votes)
        if old_votes.get(name) != new_votes.get(name)
    )
    return ",".join(changed) or "label_model"


def compute_churn(
    batch: str,
    previous: pd.DataFrame | None,
    current: pd.DataFrame,
    reviewed: pd.DataFrame,
    *,
    kind: ChurnKind = CLASS_CHURN,
    reported_at: str | None = None,
) -> Churn:
    """Flips between two label states of a batch; ``reviewed`` holds the human labels in the
    form ``kind`` reads (``item_id`` and ``label``, or ``boxes`` for detection)."""
    when = reported_at or datetime.now(UTC).isoformat(timespec="microseconds")
    previous = previous if previous is not None else pd.DataFrame(columns=STATE_COLUMNS)
    before = previous.set_index("item_id")
    human = kind.human_labels(reviewed) if len(reviewed) else pd.Series(dtype=str)
    by_class: dict[str, dict[str, int]] = {}
    rows = []
    rescored = new_items = 0
    old_champions: set[str] = set()
    champion = None
    for item_id, label, votes_json, versions_json in current[STATE_COLUMNS].itertuples(index=False):
        versions = json.loads(versions_json)
        champion = versions.get(CHAMPION_LABELER, champion)
        if item_id not in before.index:
            new_items += 1
            rescored += CHAMPION_LABELER in versions
            continue
        old = before.loc[item_id]
        old_versions = json.loads(old["versions"])
        if CHAMPION_LABELER in versions and old_versions.get(CHAMPION_LABELER) != versions.get(
            CHAMPION_LABELER
        ):
            rescored += 1
            if CHAMPION_LABELER in old_versions:
                old_champions.add(old_versions[CHAMPION_LABELER])
        if not kind.changed(old["label"], label):
            continue
        for name, (lost, gained) in kind.class_delta(old["label"], label).items():
            counts = by_class.setdefault(name, {"lost": 0, "gained": 0})
            counts["lost"] += lost
            counts["gained"] += gained
        human_label = human.get(item_id)
        rows.append(
            {
                "item_id": item_id,
                "batch": batch,
                "old_label": kind.display(old["label"]),
                "new_label": kind.display(label),
                "causes": _causes(json.loads(old["votes"]), json.loads(votes_json)),
                "human_label": None if human_label is None else kind.display(str(human_label)),
                "to_review": human_label is not None and kind.changed(str(human_label), label),
                "reported_at": when,
            }
        )
    flips = pd.DataFrame(rows, columns=CHURN_COLUMNS).astype({"to_review": bool})
    return Churn(
        batch=batch,
        items=len(current),
        new_items=new_items,
        rescored=rescored,
        flips=flips,
        champion=champion,
        previous_champions=sorted(old_champions),
        by_class={k: v for k, v in by_class.items() if v["lost"] or v["gained"]},
    )
