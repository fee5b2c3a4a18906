"""Which items a re-label with the champion has to score, batch by batch.

An item needs the champion when its candidate labels carry no champion vote, or one made by
another model version (new items, items labeled by an older champion). Everything else is
skipped; a batch with nothing to score gets no run at all.
"""

from dataclasses import dataclass, field

import pyarrow.parquet as pq

from labelgate.models.labeler import CHAMPION_LABELER, active_champion
from labelgate.project import CANDIDATE_LABELS, RAW_ITEMS, ProjectData
from labelgate.spec import ProjectSpec


@dataclass(frozen=True)
class BatchPlan:
    batch: str
    items: int
    new: int  # never scored by any champion
    outdated: int  # scored by an older model version

    @property
    def to_score(self) -> int:
        return self.new + self.outdated


@dataclass(frozen=True)
class RelabelPlan:
    champion: str | None
    batches: list[BatchPlan] = field(default_factory=list)

    @property
    def to_score(self) -> int:
        return sum(b.to_score for b in self.batches)

    def batches_to_run(self) -> list[BatchPlan]:
        return [b for b in self.batches if b.to_score]

    def summary(self) -> dict:
        return {
            "champion": self.champion,
            "to_score": self.to_score,
            "batches": {b.batch: b.to_score for b in self.batches},
        }


def relabel_plan(spec: ProjectSpec) -> RelabelPlan:
    champion = active_champion(spec)
    if champion is None:
        return RelabelPlan(None)
    tables = ProjectData(spec).tables
    plans = []
    for batch in tables.partitions(RAW_ITEMS):
        raw = pq.read_table(tables.path(RAW_ITEMS, batch), columns=["item_id"])
        items = set(raw["item_id"].to_pylist())
        votes: dict[str, str] = {}
        if tables.exists(CANDIDATE_LABELS, batch):
            table = pq.read_table(
                tables.path(CANDIDATE_LABELS, batch),
                columns=["item_id", "labeler_version"],
                filters=[("labeler", "=", CHAMPION_LABELER)],
            )
            votes = dict(
                zip(table["item_id"].to_pylist(), table["labeler_version"].to_pylist(), strict=True)
            )
        new = sum(1 for i in items if i not in votes)
        outdated = sum(1 for i in items if i in votes and votes[i] != champion.model_id)
        plans.append(BatchPlan(batch, len(items), new, outdated))
    return RelabelPlan(champion.model_id, plans)
