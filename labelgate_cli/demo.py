"""The demo loop: a synthetic corpus, auto-labeling, simulated human review rounds, the gate.

Everything goes through the same Dagster jobs as ``labelgate run`` / ``review import``, on
the configured instance, so the Dagster UI shows the demo's runs and lineage afterwards.
"""

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pandas as pd

from labelgate.project import ACCEPTED_LABELS, ProjectData
from labelgate.spec import ProjectSpec
from labelgate.synth import simulate_reviews, write_corpus
from labelgate.synth.evaluate import Realized, realized, truth_by_item
from labelgate_cli.governance_demo import approve_and_release
from labelgate_cli.models_demo import model_round
from labelgate_cli.runner import import_reviews, run_project
from resources.encoder import TextEncoderResource


@dataclass
class DemoRound:
    round: int
    reviews_imported: int
    result: Realized


@dataclass
class DemoReport:
    corpus: Path
    rounds: list[DemoRound] = field(default_factory=list)


def reset_project(spec: ProjectSpec) -> None:
    """Forget a previous demo's tables, reviews and queue (the Dagster history stays)."""
    for folder in (spec.project_dir, spec.review.folder):
        if folder.exists():
            shutil.rmtree(folder)


def run_demo(
    spec: ProjectSpec,
    *,
    instance: dg.DagsterInstance,
    encoder: TextEncoderResource,
    messages: int = 5000,
    batches: int = 5,
    rounds: int = 2,
    error_rate: float = 0.02,
    seed: int = 0,
    on_step: Callable[[str], None] = lambda _: None,
) -> DemoReport:
    """Generate the corpus into the project's source folder, then label, review, repeat."""
    if rounds < 0:
        raise ValueError(f"rounds must be >= 0, got {rounds}")
    corpus_dir = spec.source.path.parent
    reset_project(spec)
    on_step(f"writing {messages} synthetic messages to {spec.source.path}")
    corpus = write_corpus(
        corpus_dir, n=messages, n_batches=batches, seed=seed, inbox=spec.source.path
    )
    truth = pd.read_csv(corpus.truth_csv, dtype=str, keep_default_na=False)
    truth_labels = truth_by_item(truth)
    data = ProjectData(spec)
    report = DemoReport(corpus=corpus_dir)
    imported = 0
    for number in range(rounds + 1):
        on_step(f"round {number}: labeling and gating")
        run_project(spec, instance=instance, encoder=encoder)
        accepted = data.tables.read(ACCEPTED_LABELS)
        items = len(data.items(["item_id"]))
        report.rounds.append(
            DemoRound(number, imported, realized(accepted, truth_labels, items=items))
        )
        if number == rounds:
            break
        queue_csv = data.queue_dir / "review_queue.csv"
        answers = spec.review.folder / "answers" / f"round_{number + 1}.csv"
        on_step(f"round {number}: simulated reviewers answer {queue_csv.name}")
        reviews = simulate_reviews(
            queue_csv, truth, answers, error_rate=error_rate, seed=seed + number
        )
        import_reviews(spec, [str(answers)], instance=instance, encoder=encoder)
        imported += len(reviews)
    approve_and_release(spec, instance=instance, on_step=on_step)  # four-eyes, release
    champion = model_round(
        spec, instance=instance, encoder=encoder, truth=truth_labels, on_step=on_step
    )
    if champion is not None:  # the champion re-labeled: one more row, no new reviews
        report.rounds.append(DemoRound(rounds + 1, imported, champion))
    return report
