"""trained_model, model_evaluation and champion_model: distill the approved labels into a
model, score it against the champion on the same held-out split, promote it only if better;
and label_issues: suspected human errors found by cleanlab, sent back to review."""

import json
import warnings
from typing import Any

import dagster as dg
import pandas as pd

from assets.common import ProjectAssets
from labelgate.build import embedding_cache_path
from labelgate.embeddings import CachedEmbedder, EmbeddingCache
from labelgate.label_issues import ISSUE_COLUMNS
from labelgate.models.active import LABEL_ISSUES
from labelgate.models.issues import audited_label_issues
from labelgate.models.metrics import Metrics
from labelgate.models.plots import confusion_png
from labelgate.models.registry import ModelCard, ModelRegistry
from labelgate.models.service import Evaluation, decide_promotion, evaluate_challenger, train_latest
from labelgate.models.training import TRAINING_CODE_VERSION
from labelgate.plots import png_markdown
from labelgate.project import ACCEPTED_LABELS, REVIEWED_LABELS
from labelgate.spec import ProjectSpec
from resources.encoder import TextEncoderResource

TRAINED_MODEL = "trained_model"
MODEL_EVALUATION = "model_evaluation"
CHAMPION_MODEL = "champion_model"


def _embedder(project: ProjectAssets, encoder: TextEncoderResource) -> CachedEmbedder:
    return CachedEmbedder(encoder.get(), EmbeddingCache(embedding_cache_path(project.spec)))


def card_metadata(spec: ProjectSpec, card: ModelCard, *, new: bool) -> dict[str, Any]:
    """What a trained_model materialization reports about the model, text or image."""
    return {
        "dagster/row_count": 1,
        "model_id": card.model_id,
        "newly_trained": new,
        "label_set_version": card.label_set_version,
        "n_train": card.n_train,
        "n_eval": card.n_eval,
        "training_seconds": card.training_seconds,
        "hyperparameters": dg.MetadataValue.json(card.hyperparameters),
        "card": dg.MetadataValue.path(str(ModelRegistry(spec).folder(card.model_id) / "card.json")),
    }


def _versioned(frame: pd.DataFrame, version: str, metadata: dict) -> dg.Output[pd.DataFrame]:
    """An output with an explicit data version (what downstream staleness compares).

    ``Output(data_version=...)`` is a beta parameter of Dagster 1.13; the warning is expected.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.Output(frame, data_version=dg.DataVersion(version), metadata=metadata)


def _metrics_table(metrics: Metrics) -> str:
    rows = [
        f"| {c} | {metrics.precision[c]:.3f} | {metrics.recall[c]:.3f} | {metrics.support[c]} |"
        for c in metrics.classes
    ]
    return "| class | precision | recall | support |\n|---|---|---|---|\n" + "\n".join(rows)


def build_model_assets(project: ProjectAssets) -> list[dg.AssetsDefinition]:
    spec = project.spec
    training = spec.training
    common = {
        "key_prefix": [project.name],
        "group_name": project.name,
        "io_manager_key": project.io_manager_key,
    }
    kinds = {"scikitlearn"} if training.method == "head" else {"pytorch"}

    @dg.asset(
        name=TRAINED_MODEL,
        deps=[project.key(ACCEPTED_LABELS)],
        kinds=kinds,
        code_version=TRAINING_CODE_VERSION,
        description=f"A {training.method} text classifier distilled from the latest APPROVED "
        "label set (evaluation bucket held out), saved with its model card in the registry.",
        **common,
    )
    def trained_model(
        context: dg.AssetExecutionContext, encoder: TextEncoderResource
    ) -> dg.Output[pd.DataFrame]:
        trained = train_latest(
            spec, _embedder(project, encoder), device=encoder.device, run_id=context.run_id
        )
        card = trained.card
        row = pd.DataFrame(
            [
                {
                    "model_id": card.model_id,
                    "label_set_version": card.label_set_version,
                    "method": card.method,
                    "n_train": card.n_train,
                    "n_eval": card.n_eval,
                    "accuracy": card.metrics["accuracy"],
                    "macro_f1": card.metrics["macro_f1"],
                    "training_seconds": card.training_seconds,
                    "trained_at": card.trained_at,
                }
            ]
        )
        return _versioned(
            row,
            card.fingerprint[:16],
            {**card_metadata(spec, card, new=trained.new), "n_train_human": card.n_train_human},
        )

    @dg.asset(
        name=MODEL_EVALUATION,
        ins={"trained_model": dg.AssetIn(key=project.key(TRAINED_MODEL))},
        kinds={"pandas"},
        code_version=TRAINING_CODE_VERSION,
        description="The trained model and the current champion scored on the same held-out, "
        "human-reviewed evaluation split: accuracy, macro-F1, per-class precision/recall, "
        "confusion matrix.",
        **common,
    )
    def model_evaluation(
        context: dg.AssetExecutionContext,
        encoder: TextEncoderResource,
        trained_model: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        model_id = str(trained_model["model_id"].iloc[0])
        result = evaluate_challenger(
            spec, model_id, _embedder(project, encoder), device=encoder.device
        )
        scored = [("challenger", result.challenger.model_id, result.metrics)]
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
        metadata = {
            "dagster/row_count": len(frame),
            "challenger": model_id,
            "champion": result.champion.model_id if result.champion else "none",
            "n_eval": result.metrics.n,
            "accuracy": result.metrics.accuracy,
            "macro_f1": result.metrics.macro_f1,
            "per_class": dg.MetadataValue.md(_metrics_table(result.metrics)),
            "confusion_matrix": dg.MetadataValue.md(
                png_markdown(
                    confusion_png(result.metrics.confusion, result.metrics.classes, title=model_id),
                    "confusion matrix",
                )
            ),
        }
        if result.champion_metrics is not None:
            metadata["champion_accuracy"] = result.champion_metrics.accuracy
            metadata["champion_macro_f1"] = result.champion_metrics.macro_f1
        return dg.Output(frame, metadata=metadata)

    @dg.asset(
        name=CHAMPION_MODEL,
        ins={"model_evaluation": dg.AssetIn(key=project.key(MODEL_EVALUATION))},
        kinds={"pandas"},
        description="The model the project labels with. The challenger replaces it only when "
        f"its {training.promotion_metric} beats the champion's by "
        f"{training.promotion_margin} on the same split; the decision goes to the ledger.",
        **common,
    )
    def champion_model(
        context: dg.AssetExecutionContext, model_evaluation: pd.DataFrame
    ) -> dg.Output[pd.DataFrame]:
        registry = ModelRegistry(spec)
        rows = {row.role: row for row in model_evaluation.itertuples(index=False)}
        challenger = rows["challenger"]
        champion = rows.get("champion")
        current = registry.champion()
        if champion is not None and (current is None or current.model_id != champion.model_id):
            raise dg.Failure(
                f"the champion changed since model_evaluation ran ({champion.model_id} -> "
                f"{current.model_id if current else 'none'}); materialize model_evaluation again"
            )
        evaluation = Evaluation(
            challenger=registry.get(challenger.model_id),
            metrics=Metrics.from_dict(json.loads(challenger.metrics_json)),
            champion=current,
            champion_metrics=(
                Metrics.from_dict(json.loads(champion.metrics_json)) if champion else None
            ),
            split_sha256=challenger.eval_items_sha256,
        )
        decision = decide_promotion(spec, evaluation, run_id=context.run_id)
        now = registry.champion()
        frame = pd.DataFrame(
            [
                {
                    "champion": now.model_id if now else None,
                    "challenger": decision.challenger,
                    "promoted": decision.promote,
                    "reason": decision.reason,
                    "metric": decision.metric,
                    "challenger_score": decision.challenger_score,
                    "champion_score": decision.champion_score,
                    "margin": decision.margin,
                }
            ]
        )
        return _versioned(
            frame,
            now.model_id if now else "none",
            {
                "dagster/row_count": 1,
                "champion": now.model_id if now else "none",
                "promoted": decision.promote,
                "reason": decision.reason,
                "decision": dg.MetadataValue.json(decision.to_dict()),
            },
        )

    @dg.asset(
        name=LABEL_ISSUES,
        ins={"reviewed_labels": dg.AssetIn(key=project.key(REVIEWED_LABELS))},
        kinds={"scikitlearn", "pandas"},
        description="Human labels cleanlab suspects are wrong (confident learning on "
        "cross-validated, out-of-sample probabilities); they go back to the review queue.",
        **common,
    )
    def label_issues(
        context: dg.AssetExecutionContext,
        encoder: TextEncoderResource,
        reviewed_labels: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        issues = audited_label_issues(spec, _embedder(project, encoder), reviewed_labels)
        return dg.Output(
            issues[ISSUE_COLUMNS],
            metadata={
                "dagster/row_count": len(issues),
                "audited": len(reviewed_labels),
                "preview": dg.MetadataValue.md(
                    issues.head(10).to_markdown(index=False) if len(issues) else "no issues"
                ),
            },
        )

    return [trained_model, model_evaluation, champion_model, label_issues]
