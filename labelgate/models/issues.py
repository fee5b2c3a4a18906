"""Label issues over a project's audited (human-reviewed) labels.

An item that already had a second look (reviewed twice or more) is not flagged again: the
latest human decision stands. An item flagged before and still waiting keeps the time it was
first reported, so the review queue does not reshuffle it.

Text: out-of-sample probabilities by cross-validating a classifier on the items' embeddings.
Image classification: the auto-labels' probabilities (``probs``) are out-of-sample already:
the pretrained classifiers never saw the project's human labels and the label model fits on
their votes only. Detection has no label-issue check: cleanlab's object-detection filter
needs out-of-sample boxes with a score for every class, which a project's detectors (top
boxes above a confidence floor, mapped through an ontology) do not give; the churn report
already sends human box sets the champion contradicts back to review.
"""

import numpy as np
import pandas as pd

from labelgate.embeddings import CachedEmbedder
from labelgate.label_issues import ISSUE_COLUMNS, find_human_label_issues, rank_label_issues
from labelgate.models.active import LABEL_ISSUES
from labelgate.project import ProjectData
from labelgate.spec import ProjectSpec


def _reviewed_once(data: ProjectData, reviewed: pd.DataFrame) -> pd.DataFrame:
    counts = data.reviews.all_reviews()["item_id"].value_counts()
    return reviewed[reviewed["item_id"].map(counts).fillna(0).le(1).to_numpy()]


def _keep_first_report(data: ProjectData, issues: pd.DataFrame) -> pd.DataFrame:
    if data.tables.exists(LABEL_ISSUES) and len(issues):
        earlier = data.tables.read(LABEL_ISSUES).set_index("item_id")["reported_at"]
        first = issues["item_id"].map(earlier)
        issues["reported_at"] = first.fillna(issues["reported_at"])
    return issues.reset_index(drop=True)


def audited_label_issues(
    spec: ProjectSpec, embedder: CachedEmbedder, reviewed: pd.DataFrame
) -> pd.DataFrame:
    data = ProjectData(spec)
    audited = data.with_text(_reviewed_once(data, reviewed))
    if audited.empty:
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    vectors = embedder.embed(audited["item_id"].tolist(), audited["text"].tolist())
    issues = find_human_label_issues(
        audited["item_id"].tolist(),
        vectors,
        audited["label"].tolist(),
        folds=spec.training.label_issue_folds,
        seed=spec.training.seed,
        max_issues=spec.training.max_label_issues,
    )
    return _keep_first_report(data, issues)


def probability_label_issues(
    data: ProjectData, reviewed: pd.DataFrame, auto_labels: pd.DataFrame
) -> pd.DataFrame:
    """Label issues of once-reviewed items from their auto-labels' ``probs`` (one per class
    of the project, in its order); items without an auto-label are not audited."""
    spec = data.spec
    probs = auto_labels.drop_duplicates("item_id", keep="last").set_index("item_id")["probs"]
    audited = _reviewed_once(data, reviewed)
    audited = audited[audited["item_id"].isin(probs.index)].drop_duplicates("item_id", keep="last")
    names = list(spec.class_names)
    audited = audited[audited["label"].isin(names)]
    if audited.empty:
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    matrix = np.vstack([np.asarray(p, dtype=float) for p in probs.loc[audited["item_id"]]])
    given = np.array([names.index(label) for label in audited["label"]])
    issues = rank_label_issues(
        audited["item_id"].astype(str).tolist(),
        matrix,
        given,
        names,
        max_issues=spec.training.max_label_issues if spec.training else None,
    )
    return _keep_first_report(data, issues)
