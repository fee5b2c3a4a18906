"""After a re-label: the review queue prefers the champion's doubts, and human labels the
champion would flip (or cleanlab suspects) come back for a second look."""

import numpy as np
import pandas as pd
import pytest

from labelgate.embeddings import HashingEncoder
from labelgate.label_issues import find_human_label_issues
from labelgate.models.active import LABEL_ISSUES, add_rechecks, pending_rechecks, prioritize_queue
from labelgate.models.churn import CHURN_COLUMNS
from labelgate.project import CANDIDATE_LABELS, ProjectData
from labelgate.review.queue import QUEUE_COLUMNS
from labelgate.spec import ProjectSpec
from labelgate.synth.bank_messages import generate_messages
from tests.conftest import ProjectFactory

EARLY, LATE = "2026-01-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00"


@pytest.fixture
def spec(make_project: ProjectFactory) -> ProjectSpec:
    return make_project(training={"method": "head"})


def candidates(rows: list[tuple[str, str, str | None, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": [r[0] for r in rows],
            "labeler": [r[1] for r in rows],
            "labeler_version": "v",
            "label": [r[2] for r in rows],
            "confidence": [r[3] for r in rows],
            "probs": [[] for _ in rows],
            "out_of_fold": False,
        }
    )


def test_queue_prefers_champion_doubt_and_source_disagreement_and_rechecks_flips(
    spec: ProjectSpec,
) -> None:
    data = ProjectData(spec)
    # i1: sure and agreed; i2: champion unsure; i3: sources disagree; i4: both.
    data.tables.write(
        CANDIDATE_LABELS,
        candidates(
            [
                ("i1", "rules", "card_fraud", 0.9),
                ("i1", "champion", "card_fraud", 0.99),
                ("i2", "rules", "card_fraud", 0.9),
                ("i2", "champion", "card_fraud", 0.55),
                ("i3", "rules", "loan_inquiry", 0.9),
                ("i3", "champion", "card_fraud", 0.95),
                ("i4", "rules", "loan_inquiry", 0.9),
                ("i4", "champion", "card_fraud", 0.5),
                ("h1", "champion", "fees_complaint", 0.97),
                ("h2", "champion", "fees_complaint", 0.97),
            ]
        ),
        "b1",
    )
    auto = pd.DataFrame(
        {
            "item_id": ["i1", "i2", "i3", "i4", "h1", "h2"],
            "label": ["card_fraud"] * 4 + ["fees_complaint"] * 2,
            "confidence": [0.99, 0.6, 0.9, 0.5, 0.97, 0.97],
        }
    )
    reviewed = pd.DataFrame(
        {
            "item_id": ["h1", "h2"],
            "label": ["loan_inquiry", "loan_inquiry"],
            "purpose": ["calibration", "uncertain"],
            "reviewed_at": [EARLY, LATE],
        }
    )
    # The champion flipped both human labels on Jan 15th; h2 was re-reviewed since.
    flips = pd.DataFrame(
        {
            "item_id": ["h1", "h2"],
            "batch": "b1",
            "old_label": "loan_inquiry",
            "new_label": "fees_complaint",
            "causes": "champion",
            "human_label": "loan_inquiry",
            "to_review": True,
            "reported_at": "2026-01-15T00:00:00+00:00",
        },
        columns=CHURN_COLUMNS,
    )
    assert add_rechecks(data, "b1", flips) == 2
    assert add_rechecks(data, "b1", flips.iloc[:0]) == 2  # a later run without flips keeps them
    assert pending_rechecks(data, reviewed)["item_id"].tolist() == ["h1"]

    texts = pd.DataFrame({"item_id": auto["item_id"], "text": [f"text {i}" for i in auto.index]})
    base = pd.DataFrame(
        {
            "item_id": ["i1", "i2"],
            "text": ["text 0", "text 1"],
            "predicted_label": "card_fraud",
            "confidence": [0.99, 0.6],
            "purpose": ["calibration", "uncertain"],
            "rank": [1, 2],
            "queued_at": EARLY,
        },
        columns=QUEUE_COLUMNS,
    )
    queue = prioritize_queue(
        base, data=data, auto_labels=auto, texts=texts, reviewed=reviewed, uncertain_size=2
    )
    assert queue["item_id"].tolist() == ["i1", "h1", "i4", "i3"]
    assert queue["purpose"].tolist() == ["calibration", "calibration", "uncertain", "uncertain"]
    assert queue.loc[1, "predicted_label"] == "fees_complaint"  # what the champion suggests
    assert queue["rank"].tolist() == [1, 2, 3, 4]
    assert list(queue.columns) == QUEUE_COLUMNS


def test_queue_is_unchanged_without_training_or_champion(make_project: ProjectFactory) -> None:
    spec = make_project()
    base = pd.DataFrame(columns=QUEUE_COLUMNS)
    empty = pd.DataFrame(columns=["item_id", "label", "purpose", "reviewed_at"])
    same = prioritize_queue(
        base,
        data=ProjectData(spec),
        auto_labels=pd.DataFrame(columns=["item_id", "label", "confidence"]),
        texts=pd.DataFrame(columns=["item_id", "text"]),
        reviewed=empty,
        uncertain_size=5,
    )
    assert same is base


def test_cleanlab_finds_swapped_human_labels_and_they_go_back_to_review(
    spec: ProjectSpec,
) -> None:
    messages = generate_messages(500, seed=5).drop_duplicates("text").reset_index(drop=True)
    labels = messages["true_label"].to_numpy().copy()
    rng = np.random.default_rng(0)
    swapped = rng.choice(len(labels), size=15, replace=False)
    classes = sorted(set(labels))
    for i in swapped:
        labels[i] = classes[(classes.index(labels[i]) + 1) % len(classes)]
    ids = [f"m{i:04d}" for i in range(len(labels))]
    vectors = HashingEncoder().encode(messages["text"].tolist())
    issues = find_human_label_issues(ids, vectors, labels, folds=5, seed=0, reported_at=LATE)
    flagged = set(issues["item_id"])
    truly_wrong = {ids[i] for i in swapped}
    assert len(flagged & truly_wrong) >= 10  # recall of planted errors
    assert len(flagged & truly_wrong) / len(flagged) >= 0.5  # precision
    first = issues.iloc[0]
    assert first["given_label"] != first["suggested_label"]
    # Flagged items reviewed before the report come back; the queue shows the suggestion.
    data = ProjectData(spec)
    data.tables.write(LABEL_ISSUES, issues)
    reviewed = pd.DataFrame(
        {"item_id": ids, "label": labels, "purpose": "uncertain", "reviewed_at": EARLY}
    )
    pending = pending_rechecks(data, reviewed)
    assert set(pending["item_id"]) == flagged
    assert set(pending["reason"]) == {"label_issue"}
