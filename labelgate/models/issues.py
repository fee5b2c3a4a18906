"""Label issues over a project's audited (human-reviewed) labels.

An item that already had a second look (reviewed twice or more) is not flagged again: the
latest human decision stands. An item flagged before and still waiting keeps the time it was
first reported, so the review queue does not reshuffle it.
"""

import pandas as pd

from labelgate.embeddings import CachedEmbedder
from labelgate.label_issues import ISSUE_COLUMNS, find_human_label_issues
from labelgate.models.active import LABEL_ISSUES
from labelgate.project import ProjectData
from labelgate.spec import ProjectSpec


def audited_label_issues(
    spec: ProjectSpec, embedder: CachedEmbedder, reviewed: pd.DataFrame
) -> pd.DataFrame:
    data = ProjectData(spec)
    counts = data.reviews.all_reviews()["item_id"].value_counts()
    once = reviewed[reviewed["item_id"].map(counts).fillna(0).le(1).to_numpy()]
    audited = data.with_text(once)
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
    if data.tables.exists(LABEL_ISSUES) and len(issues):
        earlier = data.tables.read(LABEL_ISSUES).set_index("item_id")["reported_at"]
        first = issues["item_id"].map(earlier)
        issues["reported_at"] = first.fillna(issues["reported_at"])
    return issues.reset_index(drop=True)
