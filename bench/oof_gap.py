"""How far the gate's evidence is from the labels it accepts (issue 10, cause 2).

On banking77 subsets with a simulated review loop (a random calibration sample of half the
budget, then rounds of least-confident items), the embedding labeler is fitted on the same
reviews in several cross-fitting settings. Per setting, printed:

- ``oof@t``: out-of-fold accuracy of the calibration items at or above a threshold t (the m most
  confident calibration items by out-of-fold confidence, m = ``--top``, default half);
- ``unrev@t``: the labeler's accuracy against the truth on the unreviewed items at or above the
  same t, and the share of unreviewed items that clears it;
- ``gap``: unrev@t - oof@t (what the evidence under-states), and the automation and realized
  accuracy of the project's gate on that evidence;
- ``half``: the accuracy of the most confident half of the unreviewed items (the comparison
  of issue 10: evidence on the top half of the calibration sample vs the top half of what
  would be accepted). A share above 0.5 at t means the labeler is more confident on
  unreviewed items than the evidence was (a scale gap).

    python bench/oof_gap.py [--configs small24 mid77] [--seeds 0 1 2]
"""

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd

from bench.configs import CONFIGS, BenchConfig, subsample
from labelgate.accept import gate_on_evidence
from labelgate.embeddings import CachedEmbedder, EmbeddingCache, MiniLMEncoder
from labelgate.gate import auto_accept_mask
from labelgate.ids import text_item_id
from labelgate.labelers.embedding import EmbeddingLabeler
from labelgate.spec import ClassSpec, EmbeddingLabelerSpec, GateSpec

SETTINGS = {
    "before: 5 folds, refit head": {"oof_folds": 5, "predict_with": "final"},
    "10 folds, refit head": {"oof_folds": 10, "predict_with": "final"},
    "10 folds, fold mean": {"oof_folds": 10, "predict_with": "fold_mean"},
    "20 folds, fold mean": {"oof_folds": 20, "predict_with": "fold_mean"},
}


@dataclass
class Row:
    setting: str
    oof_top: float
    unreviewed_top: float
    unreviewed_share: float
    unreviewed_half: float
    automation: float
    realized: float | None


def simulate_reviews(
    labeler: EmbeddingLabeler, ids: list[str], texts: list[str], y: np.ndarray,
    budget: int, rounds: int, seed: int,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(calibration rows, active rows): a random half of the budget, then least-confident."""
    rng = np.random.default_rng(seed)
    calibration = rng.choice(len(ids), budget // 2, replace=False)
    reviewed = list(calibration)
    per_round = (budget - len(calibration)) // rounds
    for _ in range(rounds):
        rows = np.array(reviewed)
        labeler.fit([ids[i] for i in rows], [texts[i] for i in rows], y[rows].tolist())
        probs = labeler.predict(ids, texts).probs
        confidence = probs.max(axis=1)
        confidence[rows] = np.inf
        reviewed.extend(np.argsort(confidence, kind="stable")[:per_round].tolist())
    return calibration, np.array(reviewed[len(calibration) :], dtype=int)


def measure(config: BenchConfig, seed: int, embedder: CachedEmbedder, top: int) -> list[Row]:
    frame = subsample(config)
    texts = frame["text"].tolist()
    ids = [text_item_id(t) for t in texts]
    y = frame["true_label"].to_numpy()
    classes = [ClassSpec(name=c, description=c.replace("_", " ")) for c in sorted(set(y))]
    budget = round(config.budget * len(frame))
    base = EmbeddingLabelerSpec(type="embedding", oof_folds=5, predict_with="final")
    labeler = EmbeddingLabeler(base, classes, embedder, seed=seed)
    calibration, active = simulate_reviews(labeler, ids, texts, y, budget, 6, seed)
    reviewed = np.concatenate([calibration, active])
    unreviewed = np.setdiff1d(np.arange(len(ids)), reviewed)
    rows = []
    for name, options in SETTINGS.items():
        spec = base.model_copy(update=options)
        labeler = EmbeddingLabeler(spec, classes, embedder, seed=seed)
        labeler.fit([ids[i] for i in reviewed], [texts[i] for i in reviewed], y[reviewed].tolist())
        probs = labeler.predict(ids, texts).probs
        names = np.array(labeler.class_names)
        confidence, label = probs.max(axis=1), names[probs.argmax(axis=1)]
        correct = label == y
        cal_conf, cal_ok = confidence[calibration], correct[calibration]
        order = np.argsort(-cal_conf, kind="stable")
        m = min(top, len(order)) if top else len(order) // 2
        threshold = cal_conf[order][m - 1]
        above = unreviewed[confidence[unreviewed] >= threshold]
        evidence = pd.DataFrame({"confidence": cal_conf, "correct": cal_ok})
        result = gate_on_evidence(evidence, GateSpec())
        accepted = unreviewed[auto_accept_mask(confidence[unreviewed], result)]
        top_half = unreviewed[np.argsort(-confidence[unreviewed], kind="stable")][
            : len(unreviewed) // 2
        ]
        rows.append(
            Row(
                name,
                float(cal_ok[order][:m].mean()),
                float(correct[above].mean()) if len(above) else float("nan"),
                len(above) / len(unreviewed),
                float(correct[top_half].mean()),
                len(accepted) / len(ids),
                float(correct[accepted].mean()) if len(accepted) else None,
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=["small24", "mid77"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--top", type=int, default=0, help="most confident calibration items (0: half of them)"
    )
    parser.add_argument("--cache", type=Path, default=Path("var/bench_cache/embeddings.sqlite"))
    args = parser.parse_args()
    embedder = CachedEmbedder(MiniLMEncoder(), EmbeddingCache(args.cache))
    results: dict[tuple[str, str], list[Row]] = {}
    for name in args.configs:
        for seed in args.seeds:
            for row in measure(CONFIGS[name], seed, embedder, args.top):
                results.setdefault((name, row.setting), []).append(row)
                print(
                    f"{name} s{seed} {row.setting:28s} oof@t {row.oof_top:.3f} "
                    f"unrev@t {row.unreviewed_top:.3f} (share {row.unreviewed_share:.3f}) "
                    f"gap {row.unreviewed_top - row.oof_top:+.3f} "
                    f"half {row.unreviewed_half:.3f} automation {row.automation:.3f}"
                    f" realized {row.realized if row.realized is None else round(row.realized, 4)}",
                    flush=True,
                )
    print(
        "\nconfig | setting | oof@t (top half) | unrev@t | share of unreviewed >= t | "
        "top half of unreviewed | automation | worst realized"
    )
    for (name, setting), rows in results.items():
        oof = np.mean([r.oof_top for r in rows])
        unrev = np.nanmean([r.unreviewed_top for r in rows])
        share = np.mean([r.unreviewed_share for r in rows])
        half = np.mean([r.unreviewed_half for r in rows])
        realized = [r.realized for r in rows if r.realized is not None]
        worst = f"{min(realized):.4f}" if realized else "-"
        print(
            f"{name} | {setting} | {oof:.3f} | {unrev:.3f} | {share:.3f} | {half:.3f} | "
            f"{np.mean([r.automation for r in rows]):.3f} | {worst}"
        )


if __name__ == "__main__":
    main()
