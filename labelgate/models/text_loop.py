"""The text model loop: a classifier head (or fine-tuned encoder) on the items' text, scored
with accuracy / macro-F1; label issues by cleanlab on cross-validated embeddings."""

import json
from collections.abc import Callable

import pandas as pd

from labelgate.embeddings import CachedEmbedder
from labelgate.models.issues import audited_label_issues
from labelgate.models.loop import EvaluationReport, ModelLoop, Student, assert_current
from labelgate.models.metrics import Metrics
from labelgate.models.plots import confusion_png
from labelgate.models.promotion import Decision
from labelgate.models.registry import ModelCard, ModelRegistry
from labelgate.models.service import (
    Evaluation,
    Trained,
    decide_promotion,
    evaluate_challenger,
    train_latest,
)
from labelgate.models.training import TRAINING_CODE_VERSION
from labelgate.plots import png_markdown
from labelgate.spec import ProjectSpec


def metrics_table(metrics: Metrics) -> str:
    rows = [
        f"| {c} | {metrics.precision[c]:.3f} | {metrics.recall[c]:.3f} | {metrics.support[c]} |"
        for c in metrics.classes
    ]
    return "| class | precision | recall | support |\n|---|---|---|---|\n" + "\n".join(rows)


class TextStudent(Student):
    code_version = TRAINING_CODE_VERSION
    describe_evaluation = (
        "accuracy, macro-F1, per-class precision/recall and confusion matrix of the trained "
        "model and the current champion"
    )

    def __init__(
        self,
        spec: ProjectSpec,
        embedder: Callable[[], CachedEmbedder] | None,
        *,
        device: str = "auto",
    ) -> None:
        super().__init__(spec)
        self._embedder = embedder  # called only when a step needs it (loads the encoder)
        self.device = device
        training = spec.training
        method = training.method if training else "head"
        self.kinds = frozenset({"scikitlearn"} if method == "head" else {"pytorch"})
        self.describe_student = f"a {method} text classifier"

    def embedder(self) -> CachedEmbedder:
        if self._embedder is None:
            raise ValueError(f"project {self.spec.name}: this text model step needs an encoder")
        return self._embedder()

    def train(self, *, run_id: str | None = None) -> Trained:
        return train_latest(self.spec, self.embedder(), device=self.device, run_id=run_id)

    def card_scores(self, card: ModelCard) -> dict[str, float]:
        return {"accuracy": card.metrics["accuracy"], "macro_f1": card.metrics["macro_f1"]}

    def evaluate(self, model_id: str) -> EvaluationReport:
        result = evaluate_challenger(self.spec, model_id, self.embedder(), device=self.device)
        scored = [("challenger", model_id, result.metrics)]
        if result.champion is not None and result.champion_metrics is not None:
            scored.append(("champion", result.champion.model_id, result.champion_metrics))
        frame = pd.DataFrame(
            [
                {
                    "role": role,
                    "model_id": mid,
                    "n_eval": m.n,
                    "accuracy": m.accuracy,
                    "macro_f1": m.macro_f1,
                    "metrics_json": json.dumps(m.to_dict(), sort_keys=True),
                    "eval_items_sha256": result.split_sha256,
                }
                for role, mid, m in scored
            ]
        )
        metrics = result.metrics
        metadata = {
            "challenger": model_id,
            "champion": result.champion.model_id if result.champion else "none",
            "n_eval": metrics.n,
            "accuracy": metrics.accuracy,
            "macro_f1": metrics.macro_f1,
        }
        if result.champion_metrics is not None:
            metadata["champion_accuracy"] = result.champion_metrics.accuracy
            metadata["champion_macro_f1"] = result.champion_metrics.macro_f1
        confusion = confusion_png(metrics.confusion, metrics.classes, title=model_id)
        markdown = {
            "per_class": metrics_table(metrics),
            "confusion_matrix": png_markdown(confusion, "confusion matrix"),
        }
        return EvaluationReport(frame, metadata, markdown=markdown)

    def decide(self, frame: pd.DataFrame, *, run_id: str | None = None) -> Decision:
        current = assert_current(self.spec, frame)
        rows = {row.role: row for row in frame.itertuples(index=False)}
        challenger, champion = rows["challenger"], rows.get("champion")
        evaluation = Evaluation(
            challenger=ModelRegistry(self.spec).get(challenger.model_id),
            metrics=Metrics.from_dict(json.loads(challenger.metrics_json)),
            champion=current,
            champion_metrics=(
                Metrics.from_dict(json.loads(champion.metrics_json)) if champion else None
            ),
            split_sha256=challenger.eval_items_sha256,
        )
        return decide_promotion(self.spec, evaluation, run_id=run_id)


def text_loop(
    spec: ProjectSpec, embedder: Callable[[], CachedEmbedder] | None, *, device: str = "auto"
) -> ModelLoop:
    student = TextStudent(spec, embedder, device=device)

    def issues(reviewed: pd.DataFrame) -> pd.DataFrame:
        return audited_label_issues(spec, student.embedder(), reviewed)

    return ModelLoop(spec, student, issues)
