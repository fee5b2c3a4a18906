"""Previews of items for Dagster metadata, without their text.

Whatever a materialization reports is kept in Dagster's run storage and shown to anyone who
can open the UI, and ``labelgate erase`` cannot reach it. So previews name items by id and
describe them (where they came from, how long they are, which kinds of personal data the
PII gate finds in them) but never carry the text itself.
"""

import pandas as pd

from labelgate.pii import find_pii

PREVIEW_ROWS = 5


def item_preview(items: pd.DataFrame, rows: int = PREVIEW_ROWS) -> pd.DataFrame:
    """``item_id, source_row, characters, pii_found`` of the first ``rows`` items."""
    head = items.head(rows)
    texts = head["text"].fillna("").astype(str)
    return pd.DataFrame(
        {
            "item_id": head["item_id"].astype(str),
            "source_row": head.get("source_row"),
            "characters": texts.str.len(),
            "pii_found": [", ".join(sorted({f.kind for f in find_pii(t)})) or "-" for t in texts],
        }
    )
