"""The review queue after a re-label: active learning and re-checks of human labels.

Unreviewed items are ranked by how unsure the champion is (1 - its confidence) plus how much
the sources disagree (the share of voting sources against the label model's label); the most
doubtful come first. Human labels the champion would flip (churn) and suspected human errors
(label issues) come back for a second look, under the purpose of their first review, so a
calibration item stays in the calibration sample.
"""

import pandas as pd

from labelgate.models.labeler import CHAMPION_LABELER
from labelgate.project import CANDIDATE_LABELS, ProjectData
from labelgate.review.queue import QUEUE_COLUMNS

CHURN_REPORT = "churn_report"
LABEL_ISSUES = "label_issues"
# Side table of churn_report, one partition per batch: every flip of a human label ever
# reported, kept until a newer review of the item answers it (churn_report itself only
# holds the latest run's flips).
RECHECKS = "recheck_requests"
RECHECK_COLUMNS = ["item_id", "suggested_label", "reason", "reported_at"]


def add_rechecks(data: ProjectData, batch: str, flips: pd.DataFrame) -> int:
    """Remember the flips marked ``to_review`` of a batch; returns how many are stored."""
    new = flips[flips["to_review"]]
    new = pd.DataFrame(
        {
            "item_id": new["item_id"].astype(str),
            "suggested_label": new["new_label"].astype(str),
            "reason": "champion_flip",
            "reported_at": new["reported_at"].astype(str),
        },
        columns=RECHECK_COLUMNS,
    )
    old = data.tables.read(RECHECKS, batch) if data.tables.exists(RECHECKS, batch) else None
    if old is None and new.empty:
        return 0
    merged = new if old is None else pd.concat([old, new], ignore_index=True)
    merged = merged.sort_values("reported_at", kind="stable").drop_duplicates(
        "item_id", keep="last"
    )
    data.tables.write(RECHECKS, merged.reset_index(drop=True), batch)
    return len(merged)


def doubt_scores(candidates: pd.DataFrame, auto_labels: pd.DataFrame) -> pd.DataFrame:
    """``item_id``, ``champion_confidence``, ``disagreement`` and ``doubt`` per item."""
    auto = auto_labels.drop_duplicates("item_id", keep="last").set_index("item_id")["label"]
    voted = candidates[candidates["label"].notna()]
    against = voted["label"].to_numpy() != voted["item_id"].map(auto).to_numpy()
    disagreement = (
        voted.assign(against=against).groupby("item_id")["against"].mean().rename("disagreement")
    )
    champion = (
        candidates[candidates["labeler"] == CHAMPION_LABELER]
        .drop_duplicates("item_id", keep="last")
        .set_index("item_id")["confidence"]
        .rename("champion_confidence")
    )
    frame = pd.DataFrame(index=auto.index).join(champion).join(disagreement)
    frame["disagreement"] = frame["disagreement"].fillna(0.0)
    # An item the champion has not scored counts as fully unsure: it is new to the model.
    frame["doubt"] = (1.0 - frame["champion_confidence"].fillna(0.0)) + frame["disagreement"]
    return frame.reset_index(names="item_id")


def pending_rechecks(data: ProjectData, reviewed: pd.DataFrame) -> pd.DataFrame:
    """Human-reviewed items flagged (by churn or label issues) after their latest review:
    ``item_id``, ``suggested_label``, ``reason``, ``reported_at``."""
    frames = []
    flips = data.tables.read_all(RECHECKS)
    if len(flips):
        frames.append(flips[RECHECK_COLUMNS])
    if data.tables.exists(LABEL_ISSUES):
        issues = data.tables.read(LABEL_ISSUES)
        frames.append(
            pd.DataFrame(
                {
                    "item_id": issues["item_id"],
                    "suggested_label": issues["suggested_label"],
                    "reason": "label_issue",
                    "reported_at": issues["reported_at"],
                }
            )
        )
    if not frames or not len(reviewed):
        return pd.DataFrame(columns=RECHECK_COLUMNS)
    flagged = pd.concat(frames, ignore_index=True)
    flagged = flagged.sort_values("reported_at").drop_duplicates("item_id", keep="last")
    last_review = pd.to_datetime(
        reviewed.set_index("item_id")["reviewed_at"], utc=True, format="ISO8601"
    )
    when = pd.to_datetime(flagged["reported_at"], utc=True, format="ISO8601")
    reviewed_at = flagged["item_id"].map(last_review)
    return flagged[reviewed_at.notna().to_numpy() & (when > reviewed_at).to_numpy()].reset_index(
        drop=True
    )


def prioritize_queue(
    queue: pd.DataFrame,
    *,
    data: ProjectData,
    auto_labels: pd.DataFrame,
    texts: pd.DataFrame,
    reviewed: pd.DataFrame,
    uncertain_size: int,
) -> pd.DataFrame:
    """Re-rank the queue's uncertain part by doubt once a champion labels the project, and
    add pending re-checks after the calibration part. Without a champion and re-checks the
    queue is returned unchanged (always so for a project without a ``training:`` section)."""
    if data.spec.training is None:
        return queue
    candidates = data.tables.read_all(CANDIDATE_LABELS)
    has_champion = len(candidates) and (candidates["labeler"] == CHAMPION_LABELER).any()
    rechecks = pending_rechecks(data, reviewed)
    if not has_champion and rechecks.empty:
        return queue
    calibration = queue[queue["purpose"] == "calibration"]
    uncertain = queue[queue["purpose"] != "calibration"]
    if has_champion:
        doubt = doubt_scores(candidates, auto_labels)
        taken = set(calibration["item_id"]) | set(reviewed["item_id"])
        pool = doubt[~doubt["item_id"].isin(taken)]
        top = pool.sort_values(["doubt", "item_id"], ascending=[False, True]).head(uncertain_size)
        auto = auto_labels.drop_duplicates("item_id", keep="last").set_index("item_id")
        uncertain = pd.DataFrame(
            {
                "item_id": top["item_id"].to_numpy(),
                "predicted_label": auto.loc[top["item_id"], "label"].to_numpy(),
                "confidence": auto.loc[top["item_id"], "confidence"].to_numpy(),
                "purpose": "uncertain",
            }
        )
    purpose = reviewed.drop_duplicates("item_id", keep="last").set_index("item_id")["purpose"]
    recheck = pd.DataFrame(
        {
            "item_id": rechecks["item_id"].to_numpy(),
            "predicted_label": rechecks["suggested_label"].to_numpy(),
            "confidence": 1.0,
            "purpose": rechecks["item_id"].map(purpose).to_numpy(),
        }
    )
    merged = pd.concat(
        [
            calibration.drop(columns=["text", "rank", "queued_at"]),
            recheck,
            uncertain.drop(
                columns=[c for c in ("text", "rank", "queued_at") if c in uncertain.columns]
            ),
        ],
        ignore_index=True,
    ).drop_duplicates("item_id", keep="first")
    text = texts.drop_duplicates("item_id").set_index("item_id")["text"]
    when = queue["queued_at"].iloc[0] if len(queue) else pd.Timestamp.now(tz="UTC").isoformat()
    return pd.DataFrame(
        {
            "item_id": merged["item_id"].astype(str).to_numpy(),
            "text": merged["item_id"].map(text).astype(str).to_numpy(),
            "predicted_label": merged["predicted_label"].astype(str).to_numpy(),
            "confidence": merged["confidence"].astype("float64").to_numpy(),
            "purpose": merged["purpose"].astype(str).to_numpy(),
            "rank": range(1, len(merged) + 1),
            "queued_at": when,
        },
        columns=QUEUE_COLUMNS,
    ).astype({"rank": "int64"})
