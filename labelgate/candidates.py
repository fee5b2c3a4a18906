"""Run labelers over items in chunks and move their outputs to and from the long table
``candidate_labels`` (one row per item and labeler)."""

from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from labelgate.embeddings import release_free_heap
from labelgate.labelers.base import Labeler, LabelerOutput, abstain_rows, rows_to_labels

CANDIDATE_SCHEMA = pa.schema(
    [
        ("item_id", pa.string()),
        ("labeler", pa.string()),
        ("labeler_version", pa.string()),
        ("label", pa.string()),  # null: the labeler abstained
        ("confidence", pa.float64()),  # NaN when abstaining
        ("probs", pa.list_(pa.float64())),  # empty when abstaining
        ("out_of_fold", pa.bool_()),
    ]
)
CANDIDATE_COLUMNS = CANDIDATE_SCHEMA.names


def candidates_frame(
    item_ids: Sequence[str], outputs: list[LabelerOutput], class_names: list[str]
) -> pd.DataFrame:
    frames = []
    for output in outputs:
        abstained = abstain_rows(output.probs)
        frames.append(
            pd.DataFrame(
                {
                    "item_id": list(item_ids),
                    "labeler": output.name,
                    "labeler_version": output.version,
                    "label": rows_to_labels(output.probs, class_names),
                    "confidence": np.where(
                        abstained,
                        np.nan,
                        np.nanmax(np.where(abstained[:, None], 0.0, output.probs), axis=1),
                    ),
                    "probs": [
                        [] if a else list(map(float, p))
                        for a, p in zip(abstained, output.probs, strict=True)
                    ],
                    "out_of_fold": output.out_of_fold,
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=CANDIDATE_COLUMNS)
    return pd.concat(frames, ignore_index=True)[CANDIDATE_COLUMNS]


def outputs_from_frame(frame: pd.DataFrame, item_ids: Sequence[str], k: int) -> list[LabelerOutput]:
    """Rebuild one LabelerOutput per labeler, rows aligned with ``item_ids``."""
    position = {item_id: row for row, item_id in enumerate(item_ids)}
    outputs = []
    for name, group in frame.groupby("labeler", sort=True):
        probs = np.full((len(item_ids), k), np.nan)
        out_of_fold = np.zeros(len(item_ids), dtype=bool)
        rows = group["item_id"].map(position).to_numpy()
        for row, vector, oof in zip(rows, group["probs"], group["out_of_fold"], strict=True):
            if len(vector):
                probs[row] = vector
            out_of_fold[row] = bool(oof)
        versions = group["labeler_version"].unique()
        outputs.append(LabelerOutput(str(name), str(versions[0]), probs, out_of_fold))
    return outputs


class CandidateStats:
    """Running counts over streamed candidate chunks: items, and votes per labeler."""

    def __init__(self) -> None:
        self.items = 0
        self.rows: dict[str, int] = {}
        self.voted: dict[str, int] = {}

    def add(self, frame: pd.DataFrame) -> None:
        self.items += frame["item_id"].nunique()
        for name, group in frame.groupby("labeler"):
            self.rows[str(name)] = self.rows.get(str(name), 0) + len(group)
            self.voted[str(name)] = self.voted.get(str(name), 0) + int(group["label"].notna().sum())

    def coverage(self) -> dict[str, float]:
        """Share of items each labeler did not abstain on."""
        return {name: round(self.voted[name] / rows, 4) for name, rows in self.rows.items() if rows}


def label_stream(
    chunks: Iterable[pd.DataFrame],
    labelers: Sequence[Labeler],
    class_names: list[str],
) -> Iterator[pd.DataFrame]:
    """Candidate-label rows for each chunk of items (columns ``item_id``, ``text``)."""
    for chunk in chunks:
        ids = chunk["item_id"].tolist()
        texts = chunk["text"].tolist()
        outputs = [labeler.predict(ids, texts) for labeler in labelers]
        yield candidates_frame(ids, outputs, class_names)
        release_free_heap()  # chunk buffers of varying size fragment glibc's heap otherwise


def run_labelers(
    items: pd.DataFrame,
    labelers: list[Labeler],
    class_names: list[str],
    *,
    chunk_size: int = 2048,
    on_chunk: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """All labelers over all items of an in-memory frame, a chunk at a time."""
    chunks = (items.iloc[i : i + chunk_size] for i in range(0, len(items), chunk_size))
    frames = []
    for frame in label_stream(chunks, labelers, class_names):
        frames.append(frame)
        if on_chunk:
            on_chunk(frame["item_id"].nunique())
    if not frames:
        return candidates_frame([], [], class_names)
    return pd.concat(frames, ignore_index=True)
