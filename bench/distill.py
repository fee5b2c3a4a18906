"""Distillation benchmark: a model trained on the audited labels vs one trained on the truth.

The synthetic bank-message corpus goes through the real loop (``labelgate run``, simulated
reviewers with a 2% error rate, ``review import``, ``run`` again, for ``--rounds`` rounds);
the accepted labels are snapshotted as a label set and approved. Then two models of the same
method (the project's ``training`` section, default: a head on frozen MiniLM embeddings):

- distilled: trained on the approved label set (auto-accepted + human labels), exactly as the
  ``trained_model`` asset does;
- ground truth: trained on every corpus item with the generator's true label;

both without the evaluation bucket, both scored on the same evaluation split (the bucket's
human-reviewed items) against the generator's truth. Printed: both scores and the ratio
distilled / ground truth (target >= 0.97).

    python bench/distill.py [--messages 5000] [--rounds 2] [--method head|finetune]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dagster as dg
import pandas as pd
import yaml

from labelgate.build import embedding_cache_path
from labelgate.embeddings import CachedEmbedder, EmbeddingCache
from labelgate.label_sets import publish_label_set
from labelgate.ledger import Ledger
from labelgate.ledger.events import LABEL_SET_APPROVED
from labelgate.models.classifier import load_classifier, new_classifier
from labelgate.models.metrics import classification_metrics
from labelgate.models.registry import ModelRegistry
from labelgate.models.service import training_data
from labelgate.models.split import in_eval_bucket
from labelgate.models.training import split_labels, train_model
from labelgate.project import ACCEPTED_LABELS, ProjectData
from labelgate.spec import load_project
from labelgate.synth import simulate_reviews, write_corpus
from labelgate.synth.evaluate import realized, truth_by_item
from labelgate_cli.runner import import_reviews, run_project
from resources.encoder import TextEncoderResource

REPO = Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.97


def build_project(folder: Path, method: str) -> Path:
    data = yaml.safe_load((REPO / "projects" / "complaints.yaml").read_text(encoding="utf-8"))
    data["source"]["path"] = str(folder / "corpus" / "inbox")
    data["storage"] = str(folder / "store")
    data["review"]["folder"] = str(folder / "reviews")
    data["training"] = {**data.get("training", {}), "method": method}
    path = folder / "project.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--method", choices=["head", "finetune"], default="head")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="labelgate-distill-"))
    spec = load_project(build_project(folder, args.method))
    corpus = write_corpus(folder / "corpus", n=args.messages, n_batches=5, seed=args.seed)
    truth = pd.read_csv(corpus.truth_csv, dtype=str, keep_default_na=False)
    truth_labels = truth_by_item(truth)
    encoder = TextEncoderResource(kind="minilm")
    data = ProjectData(spec)
    started = time.perf_counter()
    with dg.instance_for_test() as instance:
        for number in range(args.rounds + 1):
            run_project(spec, instance=instance, encoder=encoder)
            if number == args.rounds:
                break
            answers = folder / "answers" / f"round_{number + 1}.csv"
            simulate_reviews(
                data.queue_dir / "review_queue.csv", truth, answers, seed=args.seed + number
            )
            import_reviews(spec, [str(answers)], instance=instance, encoder=encoder)
        accepted = data.tables.read(ACCEPTED_LABELS)
        items = len(data.items(["item_id"]))
        loop = realized(accepted, truth_labels, items=items)
        label_set = publish_label_set(spec, accepted).label_set
        # The bench approves as a steward would (governance tests cover the four-eyes rule).
        Ledger.for_project(spec).append(
            LABEL_SET_APPROVED,
            {"version": label_set.version, "content_sha256": label_set.manifest["content_sha256"]},
            actor="bench-steward",
        )
        loop_seconds = time.perf_counter() - started

        embedder = CachedEmbedder(encoder.get(), EmbeddingCache(embedding_cache_path(spec)))
        distilled_data = training_data(spec, label_set)
        started = time.perf_counter()
        card, _ = train_model(spec, distilled_data, embedder, device=encoder.device)
        distill_seconds = time.perf_counter() - started
        split = split_labels(distilled_data.labels, spec.training)
        evaluation = split.evaluation.assign(label=split.evaluation["item_id"].map(truth_labels))

        # The ground-truth model: every corpus item, its true label, the bucket held out.
        everything = data.items(["item_id", "text"])
        everything = everything.assign(label=everything["item_id"].map(truth_labels))
        held_out = in_eval_bucket(everything["item_id"], spec.training.eval_fraction)
        train = everything[~held_out]
        started = time.perf_counter()
        oracle = new_classifier(spec.training, spec.class_names, embedder, device=encoder.device)
        oracle.fit(train["item_id"].tolist(), train["text"].tolist(), train["label"].tolist())
        oracle_seconds = time.perf_counter() - started

        distilled = load_classifier(
            ModelRegistry(spec).folder(card.model_id),
            spec.training,
            spec.class_names,
            embedder,
            device=encoder.device,
        )

    def score(model) -> tuple[float, float]:
        probs = model.predict_proba(evaluation["item_id"].tolist(), evaluation["text"].tolist())
        predicted = [spec.class_names[i] for i in probs.argmax(axis=1)]
        metrics = classification_metrics(evaluation["label"].tolist(), predicted, spec.class_names)
        return metrics.macro_f1, metrics.accuracy

    d_f1, d_acc = score(distilled)
    o_f1, o_acc = score(oracle)
    human_errors = int(
        (split.evaluation["label"] != split.evaluation["item_id"].map(truth_labels)).sum()
    )
    print(f"corpus: {args.messages} messages, {items} items after dedup; loop {loop_seconds:.0f}s")
    print(
        f"approved label set v{label_set.version}: {len(distilled_data.labels)} labels "
        f"({loop.auto_accepted} auto at {loop.auto_accuracy:.4f} true accuracy, {loop.human} "
        f"human); automation {loop.automation_rate:.3f}"
    )
    print(
        f"evaluation split: {len(evaluation)} held-out human-reviewed items "
        f"({human_errors} reviewer errors), scored against the truth"
    )
    print(
        f"distilled   ({args.method}, {card.n_train} audited labels, {distill_seconds:.1f}s incl. "
        f"out-of-fold): macro-F1 {d_f1:.4f}  accuracy {d_acc:.4f}"
    )
    print(
        f"ground truth ({args.method}, {len(train)} true labels, {oracle_seconds:.1f}s): "
        f"macro-F1 {o_f1:.4f}  accuracy {o_acc:.4f}"
    )
    ratio = d_f1 / o_f1
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(
        f"ratio distilled / ground truth: macro-F1 {ratio:.4f}, accuracy {d_acc / o_acc:.4f} "
        f"({verdict} the {TARGET_RATIO} target)"
    )


if __name__ == "__main__":
    main()
