"""The review loop of ``bench/gate_real.py`` on the domain functions, without Dagster.

Each round does what the Dagster jobs do, with the same functions: build and fit the labelers
on the reviews (``build_labelers``), label every item (``run_labelers``), combine through the
label model (``aggregate``), size and select the review queue (``queue_sizes``,
``select_review_queue``), and answer it from the truth; at the end the gate
(``run_gate``) and ``accepted_labels``. Left out: storage, the ledger, PII redaction of the
outgoing queue, and the champion-model re-ordering of the queue (no model is promoted in the
benchmark). About 5-10 times faster than the Dagster path on small configurations, so the
15-run table fits on a shared two-core machine.
"""

import pandas as pd

from labelgate.accept import accepted_labels, run_gate
from labelgate.aggregate import aggregate
from labelgate.build import build_labelers, embedding_cache_path, labeler_roles
from labelgate.candidates import outputs_from_frame, run_labelers
from labelgate.embeddings import EmbeddingCache, TextEncoder
from labelgate.ids import text_item_id
from labelgate.review.budget import queue_sizes
from labelgate.review.queue import select_review_queue
from labelgate.spec import ProjectSpec
from labelgate.synth.evaluate import Realized, realized, truth_by_item
from labelgate.text import normalize_text

REVIEWED_COLUMNS = ["item_id", "label", "purpose", "reviewer"]


def label_all(
    spec: ProjectSpec, items: pd.DataFrame, reviewed: pd.DataFrame, encoder: TextEncoder
) -> pd.DataFrame:
    """``auto_labels`` (without ``batch``) of every item, labelers fitted on ``reviewed``."""
    with_text = reviewed.merge(items, on="item_id")
    labelers = build_labelers(
        spec, encoder=encoder, reviewed=with_text, cache=EmbeddingCache(embedding_cache_path(spec))
    )
    candidates = run_labelers(items, labelers, spec.class_names)
    ids = items["item_id"].tolist()
    outputs = outputs_from_frame(candidates, ids, len(spec.class_names))
    return aggregate(ids, outputs, labeler_roles(spec), spec.class_names, seed=spec.review.seed)


def run_direct(
    spec: ProjectSpec, truth: pd.DataFrame, encoder: TextEncoder, rounds: int
) -> Realized:
    """Label, then ``rounds`` times: queue, answer from the truth, re-label; then the gate."""
    texts = truth["text"].map(normalize_text)
    items = pd.DataFrame({"item_id": [text_item_id(t) for t in texts], "text": texts})
    items = items.drop_duplicates("item_id").reset_index(drop=True)
    answers = truth_by_item(truth)
    reviewed = pd.DataFrame(columns=REVIEWED_COLUMNS)
    queued_calibration: set[str] = set()
    for number in range(rounds + 1):
        auto = label_all(spec, items, reviewed, encoder)
        if number == rounds:
            break
        sizes = queue_sizes(spec, auto, reviewed)
        queue = select_review_queue(
            auto,
            items,
            already_reviewed=set(reviewed["item_id"]),
            already_queued_calibration=queued_calibration - set(reviewed["item_id"]),
            calibration_size=sizes.calibration_size,
            calibration_reviewed=int((reviewed["purpose"] == "calibration").sum()),
            uncertain_size=sizes.uncertain_size,
            seed=spec.review.seed,
        )
        queued_calibration |= set(queue.loc[queue["purpose"] == "calibration", "item_id"])
        answered = pd.DataFrame(
            {
                "item_id": queue["item_id"],
                "label": answers.loc[queue["item_id"]].to_numpy(),
                "purpose": queue["purpose"],
                "reviewer": "simulated",
            }
        )
        reviewed = pd.concat([reviewed, answered], ignore_index=True)
    result = run_gate(auto, reviewed, spec.gate)
    accepted = accepted_labels(auto, reviewed, result, run_id="direct")
    return realized(accepted, answers, items=len(items))
