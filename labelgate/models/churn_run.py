"""One batch's churn step: compare its label state with the one the previous run left,
record a re-label in the ledger, remember flips of human labels for re-review, and keep the
new state for the next run."""

from dataclasses import dataclass

import pandas as pd

from labelgate.ledger import Ledger
from labelgate.ledger.events import RELABEL_DONE
from labelgate.models.active import add_rechecks
from labelgate.models.churn import Churn, ChurnKind, compute_churn
from labelgate.project import ProjectData

LABEL_STATE = "label_state"  # side table of churn_report: the state the last run left


@dataclass(frozen=True)
class ChurnStep:
    churn: Churn
    baseline: bool  # no earlier state: the batch's first labeling run


def churn_step(
    data: ProjectData,
    batch: str,
    current: pd.DataFrame,
    reviewed: pd.DataFrame,
    *,
    kind: ChurnKind,
    run_id: str | None,
) -> ChurnStep:
    tables = data.tables
    previous = tables.read(LABEL_STATE, batch) if tables.exists(LABEL_STATE, batch) else None
    churn = compute_churn(batch, previous, current, reviewed, kind=kind)
    if previous is not None and (churn.rescored or churn.flipped):
        Ledger.for_project(data.spec).append(
            RELABEL_DONE,
            churn.summary(),
            run_id=run_id,
            actor="labelgate.relabel",
            dedup_key=f"relabel:{run_id}:{batch}",
        )
    add_rechecks(data, batch, churn.flips)
    tables.write(LABEL_STATE, current, batch)
    return ChurnStep(churn, previous is None)
