"""The whole labeling loop on real data, against a plain recipe, over several seeds.

For each configuration (``bench/configs.py``: sms_spam and banking77 at a 20% budget; banking77
subsampled to ~1,200 items over 24 intents and to ~3,000 items over all 77 at 20%; the full
banking77 at 10%) and each seed, a labelgate project (one embedding labeler: zero-shot, then
a few-shot head on the reviews; ``--learner`` adds the contrastive labeler) runs through
the real Dagster jobs (``labelgate run`` / ``review import``): label, queue, a simulated
reviewer answers the queue from the true labels, import, re-label, ... until the review
budget is spent; then the gate decides what is auto-accepted. The first queue holds the
random calibration sample (``calibration_size: auto`` within ``review.budget``, or
``--calibration-share`` of the budget) and the least confident items; each later round adds
more least-confident items (active learning).

Printed per seed: the realized accuracy of the auto-accepted labels against the truth and the
automation rate (auto-accepted / all items). The plain recipe, measured in the same run on
the same embeddings: logistic regression on a uniform random 20% of the items, threshold
picked naively (the lowest confidence whose accuracy on a 20% holdout of the reviewed items
is >= the target, no confidence bound).

    python bench/gate_real.py [--configs small24 mid77 full10] [--seeds 0 1 2 3 4]
    python bench/gate_real.py --quick      # small24, one seed: a few minutes
    python bench/gate_real.py --direct     # the same loop without Dagster: much faster

MiniLM embeddings are kept in ``--cache-dir`` (default ``var/bench_cache``) between runs.
"""

import argparse
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dagster as dg
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from bench.configs import CONFIGS, subsample
from bench.loop_direct import run_direct
from labelgate.build import embedding_cache_path
from labelgate.embeddings import CachedEmbedder, EmbeddingCache, MiniLMEncoder
from labelgate.ids import text_item_id
from labelgate.project import ACCEPTED_LABELS, ProjectData
from labelgate.review.budget import planned_calibration_size
from labelgate.spec import GateSpec, ProjectSpec, ReviewSpec, parse_project
from labelgate.synth import simulate_reviews
from labelgate.synth.evaluate import realized, truth_by_item
from labelgate_cli.runner import import_reviews, run_project
from resources.encoder import TextEncoderResource

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
QUICK = {"configs": ["small24"], "seeds": [0]}
TARGET = 0.95
console = Console(width=150)


@dataclass
class Outcome:
    automation: float
    accuracy: float | None
    reviews: int
    seconds: float


def project_for(
    name: str,
    classes: list[str],
    root: Path,
    seed: int,
    budget: int,
    share: float | None,
    rounds: int,
    learner: bool = False,
    embedding: dict[str, object] | None = None,
) -> ProjectSpec:
    """The project of one run. ``share`` None: ``calibration_size: auto`` within the budget."""
    n_items = sum(1 for _ in (root / "inbox" / "items.csv").open(encoding="utf-8")) - 1
    gate = GateSpec(target_accuracy=TARGET, confidence=0.95)
    if share is None:
        calibration = planned_calibration_size(ReviewSpec(budget=budget), n_items, gate)
    else:
        calibration = round(share * budget)
    labelers: list[dict[str, object]] = [{"type": "embedding", **(embedding or {})}]
    if learner:
        labelers.append({"type": "contrastive"})
    return parse_project(
        {
            "name": f"{name}_s{seed}",
            "modality": "text",
            "source": {"path": str(root / "inbox")},
            "classes": [{"name": c, "description": c.replace("_", " ")} for c in classes],
            "labelers": labelers,
            "review": {
                "calibration_size": "auto" if share is None else calibration,
                "budget": budget,
                "uncertain_size": max(0, budget - calibration) // rounds,
                "seed": seed,
                "folder": str(root / f"reviews_s{seed}"),
            },
            "gate": gate.model_dump(),
            "storage": str(root / "store"),
        },
        base_dir=root,
        origin=root / f"{name}.yaml",
    )


def run_loop(
    spec: ProjectSpec, truth: pd.DataFrame, instance: dg.DagsterInstance, rounds: int
) -> Outcome:
    """Label, then ``rounds`` times: review the queue, import, re-label; then score."""
    started = time.perf_counter()
    encoder = TextEncoderResource(kind="minilm")
    data = ProjectData(spec)
    for number in range(rounds + 1):
        run_project(spec, instance=instance, encoder=encoder)
        queue = data.queue_dir / "review_queue.csv"
        if number == rounds or pd.read_csv(queue, usecols=["item_id"]).empty:
            break  # the last round, or the budget is spent: the labels above are final
        answers = spec.review.folder / f"answers_{number}.csv"
        simulate_reviews(queue, truth, answers, error_rate=0.0)
        import_reviews(spec, [str(answers)], instance=instance, encoder=encoder)
    items = len(data.items(["item_id"]))
    result = realized(data.tables.read(ACCEPTED_LABELS), truth_by_item(truth), items=items)
    return Outcome(
        automation=result.automation_rate,
        accuracy=result.auto_accuracy,
        reviews=result.human,
        seconds=time.perf_counter() - started,
    )


def run_loop_direct(
    spec: ProjectSpec, truth: pd.DataFrame, encoder: MiniLMEncoder, rounds: int
) -> Outcome:
    """The same loop on the domain functions, without Dagster (``bench/loop_direct.py``)."""
    started = time.perf_counter()
    result = run_direct(spec, truth, encoder, rounds)
    return Outcome(
        automation=result.automation_rate,
        accuracy=result.auto_accuracy,
        reviews=result.human,
        seconds=time.perf_counter() - started,
    )


def naive_threshold(confidence: np.ndarray, correct: np.ndarray) -> float | None:
    """Lowest confidence whose accuracy above it is >= the target (a point estimate)."""
    order = np.argsort(-confidence, kind="stable")
    accuracy = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    passing = np.flatnonzero(accuracy >= TARGET)
    return None if len(passing) == 0 else float(confidence[order][passing[-1]])


def plain_recipe(x: np.ndarray, y: np.ndarray, seed: int, budget: int) -> Outcome:
    """MiniLM + logistic regression on a random 20%, threshold from a 20% holdout of those."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    reviewed = rng.choice(len(y), budget, replace=False)
    holdout, train = reviewed[: budget // 5], reviewed[budget // 5 :]
    with threadpool_limits(limits=1, user_api="blas"):
        probe = LogisticRegression(max_iter=2000).fit(x[train], y[train])
        probs = probe.predict_proba(x[holdout])
        threshold = naive_threshold(
            probs.max(axis=1), probe.classes_[probs.argmax(axis=1)] == y[holdout]
        )
        final = LogisticRegression(max_iter=2000).fit(x[reviewed], y[reviewed])
        probs = final.predict_proba(x)
    accepted = np.ones(len(y), dtype=bool)
    accepted[reviewed] = False
    accepted &= probs.max(axis=1) >= (math.inf if threshold is None else threshold)
    correct = final.classes_[probs.argmax(axis=1)] == y
    return Outcome(
        automation=float(accepted.mean()),
        accuracy=float(correct[accepted].mean()) if accepted.any() else None,
        reviews=budget,
        seconds=time.perf_counter() - started,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--budget", type=float, help="share of items reviewed (default: config's)")
    parser.add_argument(
        "--calibration-share", type=float, help="of the budget (default: calibration_size auto)"
    )
    parser.add_argument("--rounds", type=int, default=6, help="review rounds")
    parser.add_argument("--learner", action="store_true", help="add the contrastive labeler")
    parser.add_argument(
        "--embedding", default="{}", help='embedding labeler options as JSON, e.g. {"head_c": 10}'
    )
    parser.add_argument("--quick", action="store_true", help="small24, seed 0 only")
    parser.add_argument(
        "--direct", action="store_true", help="the loop without Dagster (bench/loop_direct.py)"
    )
    parser.add_argument("--cache-dir", type=Path, default=Path("var/bench_cache"))
    args = parser.parse_args()
    if args.quick:
        args.configs, args.seeds = QUICK["configs"], QUICK["seeds"]
    if not DATA.is_dir():
        raise SystemExit(f"real data not found at {DATA}")
    args.cache_dir.mkdir(parents=True, exist_ok=True)

    table = Table(title=f"gate on real data · target {TARGET:.0%} at 95% confidence")
    for column in ("config", "seed", "reviews", "labelgate automation", "labelgate accuracy",
                   "plain automation", "plain accuracy", "seconds"):  # fmt: skip
        table.add_column(column, justify="right")
    summary: dict[str, list[tuple[Outcome, Outcome]]] = {}
    direct_encoder: MiniLMEncoder | None = None
    with tempfile.TemporaryDirectory(prefix="labelgate-bench-") as tmp:
        for name in args.configs:
            config = CONFIGS[name]
            truth = subsample(config)
            classes = sorted(truth["true_label"].unique())
            root = Path(tmp) / name
            (root / "inbox").mkdir(parents=True)
            (root / "store").mkdir()
            (root / "store" / "_cache").symlink_to(args.cache_dir.resolve())
            truth[["text"]].to_csv(root / "inbox" / "items.csv", index=False)
            budget = round((args.budget or config.budget) * len(truth))
            console.print(f"[bold]{name}[/]: {len(truth)} items, {len(classes)} classes, "
                          f"{budget} reviews per seed")  # fmt: skip
            embeddings: np.ndarray | None = None
            with dg.instance_for_test() as instance:
                for seed in args.seeds:
                    spec = project_for(
                        name, classes, root, seed, budget, args.calibration_share, args.rounds,
                        args.learner, json.loads(args.embedding),
                    )  # fmt: skip
                    if args.direct:
                        direct_encoder = direct_encoder or MiniLMEncoder()
                        ours = run_loop_direct(spec, truth, direct_encoder, args.rounds)
                    else:
                        ours = run_loop(spec, truth, instance, args.rounds)
                    if embeddings is None:  # the loop has filled the cache: no re-encoding
                        cache = EmbeddingCache(embedding_cache_path(spec))
                        embedder = CachedEmbedder(MiniLMEncoder(), cache)
                        ids = [text_item_id(text) for text in truth["text"]]
                        embeddings = embedder.embed(ids, truth["text"].tolist())
                    plain = plain_recipe(embeddings, truth["true_label"].to_numpy(), seed, budget)
                    summary.setdefault(name, []).append((ours, plain))
                    table.add_row(
                        name, str(seed), str(ours.reviews), f"{ours.automation:.3f}",
                        _fmt(ours.accuracy), f"{plain.automation:.3f}", _fmt(plain.accuracy),
                        f"{ours.seconds:.0f}",
                    )  # fmt: skip
                    console.print(_row_text(table))
    console.print(table)
    for name, pairs in summary.items():
        ours = [o for o, _ in pairs]
        plain = [p for _, p in pairs]
        ours_mean = float(np.mean([o.automation for o in ours]))
        plain_mean = float(np.mean([p.automation for p in plain]))
        accepting = [o for o in ours if o.accuracy is not None]
        console.print(
            f"{name}: labelgate mean automation {ours_mean:.3f}, worst accepted accuracy "
            f"{_fmt(_worst(ours))} (every seed that accepted anything >= {TARGET}: "
            f"{all((o.accuracy or 0.0) >= TARGET for o in accepting)}; seeds accepting "
            f"nothing: {len(ours) - len(accepting)}); plain recipe mean "
            f"automation {plain_mean:.3f}, worst accuracy {_fmt(_worst(plain))}; "
            f"automation ratio labelgate/plain {ours_mean / max(plain_mean, 1e-9):.2f}"
        )
    console.print(_markdown(summary, args.seeds), markup=False, highlight=False)


def _markdown(summary: dict[str, list[tuple[Outcome, Outcome]]], seeds: list[int]) -> str:
    """The table for docs/BENCHMARKS.md."""
    lines = [
        "| config | seed | reviews | labelgate automation | labelgate accuracy "
        "| plain automation | plain accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, pairs in summary.items():
        for seed, (ours, plain) in zip(seeds, pairs, strict=False):
            lines.append(
                f"| {name} | {seed} | {ours.reviews} | {ours.automation:.3f} | "
                f"{_fmt(ours.accuracy)} | {plain.automation:.3f} | {_fmt(plain.accuracy)} |"
            )
    return "\n".join(lines)


def _worst(outcomes: list[Outcome]) -> float | None:
    return min((o.accuracy for o in outcomes if o.accuracy is not None), default=None)


def _row_text(table: Table) -> str:
    cells = [list(column.cells)[-1] for column in table.columns]
    return " · ".join(str(c) for c in cells)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


if __name__ == "__main__":
    main()
