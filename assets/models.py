"""trained_model, model_evaluation and champion_model: distill the approved labels into a
student, score it against the champion on the same held-out split, promote it only if
better; and label_issues: suspected human errors sent back to review.

One factory for every modality: the project's :class:`labelgate.models.loop.ModelLoop` says
how its student trains and is scored (a text classifier, a YOLO detector) and where label
issues come from. The encoder resource is used only by text steps that embed.
"""

import warnings
from typing import Any

import dagster as dg
import pandas as pd

from assets.common import ProjectAssets
from labelgate.build import embedding_cache_path
from labelgate.embeddings import CachedEmbedder, EmbeddingCache
from labelgate.label_issues import ISSUE_COLUMNS
from labelgate.models.active import LABEL_ISSUES
from labelgate.models.loop import ModelLoop, StaleEvaluation, Student
from labelgate.models.loops import model_loop
from labelgate.models.registry import ModelCard, ModelRegistry
from labelgate.project import ACCEPTED_LABELS, REVIEWED_LABELS
from labelgate.spec import ProjectSpec
from resources.encoder import TextEncoderResource

TRAINED_MODEL = "trained_model"
MODEL_EVALUATION = "model_evaluation"
CHAMPION_MODEL = "champion_model"


def project_loop(project: ProjectAssets, encoder: TextEncoderResource) -> ModelLoop:
    def embedder() -> CachedEmbedder:
        return CachedEmbedder(encoder.get(), EmbeddingCache(embedding_cache_path(project.spec)))

    return model_loop(project.spec, embedder, device=encoder.device)


def _student(project: ProjectAssets, encoder: TextEncoderResource) -> Student:
    student = project_loop(project, encoder).student
    if student is None:
        raise dg.Failure(f"project {project.name} trains no student")
    return student


def card_metadata(spec: ProjectSpec, card: ModelCard, *, new: bool) -> dict[str, Any]:
    """What a trained_model materialization reports about the model."""
    return {
        "dagster/row_count": 1,
        "model_id": card.model_id,
        "newly_trained": new,
        "label_set_version": card.label_set_version,
        "n_train": card.n_train,
        "n_train_human": card.n_train_human,
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


def _card_row(student: Student, card: ModelCard) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "model_id": card.model_id,
                "label_set_version": card.label_set_version,
                "method": card.method,
                "n_train": card.n_train,
                "n_eval": card.n_eval,
                **student.card_scores(card),
                "training_seconds": card.training_seconds,
                "trained_at": card.trained_at,
            }
        ]
    )


def build_model_assets(project: ProjectAssets, student: Student) -> list[dg.AssetsDefinition]:
    """trained_model, model_evaluation, champion_model; ``student`` only describes them (each
    run builds its own from the encoder resource)."""
    spec = project.spec
    training = spec.training
    common = {
        "key_prefix": [project.name],
        "group_name": project.name,
        "io_manager_key": project.io_manager_key,
    }

    @dg.asset(
        name=TRAINED_MODEL,
        deps=[project.key(ACCEPTED_LABELS)],
        kinds=set(student.kinds),
        code_version=student.code_version,
        description=f"{student.describe_student.capitalize()}, distilled from the latest "
        "APPROVED label set (evaluation bucket held out), saved with its model card in the "
        "registry.",
        **common,
    )
    def trained_model(
        context: dg.AssetExecutionContext, encoder: TextEncoderResource
    ) -> dg.Output[pd.DataFrame]:
        learner = _student(project, encoder)
        trained = learner.train(run_id=context.run_id)
        return _versioned(
            _card_row(learner, trained.card),
            trained.card.fingerprint[:16],
            card_metadata(spec, trained.card, new=trained.new),
        )

    @dg.asset(
        name=MODEL_EVALUATION,
        ins={"trained_model": dg.AssetIn(key=project.key(TRAINED_MODEL))},
        kinds={"pandas"},
        code_version=student.code_version,
        description=f"The {student.describe_evaluation}, on the same held-out, "
        "human-reviewed evaluation split.",
        **common,
    )
    def model_evaluation(
        context: dg.AssetExecutionContext,
        encoder: TextEncoderResource,
        trained_model: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        report = _student(project, encoder).evaluate(str(trained_model["model_id"].iloc[0]))
        metadata = {
            "dagster/row_count": len(report.frame),
            **{k: v for k, v in report.metadata.items() if v is not None},  # None: undefined
            **{k: dg.MetadataValue.json(v) for k, v in report.json.items()},
            **{k: dg.MetadataValue.md(v) for k, v in report.markdown.items()},
        }
        return dg.Output(report.frame, metadata=metadata)

    @dg.asset(
        name=CHAMPION_MODEL,
        ins={"model_evaluation": dg.AssetIn(key=project.key(MODEL_EVALUATION))},
        kinds={"pandas"},
        description="The model the project labels with (source `champion`). The challenger "
        "replaces it only when its score beats the champion's (for detection, with none yet, "
        f"the teacher's) by {training.promotion_margin} on the same split; the decision goes "
        "to the ledger.",
        **common,
    )
    def champion_model(
        context: dg.AssetExecutionContext,
        encoder: TextEncoderResource,
        model_evaluation: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        try:
            decision = _student(project, encoder).decide(model_evaluation, run_id=context.run_id)
        except StaleEvaluation as exc:
            raise dg.Failure(str(exc)) from exc
        now = ModelRegistry(spec).champion()
        champion = now.model_id if now else "none"
        row = {
            **decision.to_dict(),
            "previous_champion": decision.champion,
            "champion": now.model_id if now else None,
            "promoted": decision.promote,
        }
        del row["promote"]
        metadata = {
            "dagster/row_count": 1,
            "champion": champion,
            "promoted": decision.promote,
            "reason": decision.reason,
            "decision": dg.MetadataValue.json(decision.to_dict()),
        }
        return _versioned(pd.DataFrame([row]), champion, metadata)

    return [trained_model, model_evaluation, champion_model]


def build_label_issues_asset(project: ProjectAssets) -> dg.AssetsDefinition:
    @dg.asset(
        name=LABEL_ISSUES,
        key_prefix=[project.name],
        group_name=project.name,
        io_manager_key=project.io_manager_key,
        ins={"reviewed_labels": dg.AssetIn(key=project.key(REVIEWED_LABELS))},
        kinds={"scikitlearn", "pandas"},
        description="Human labels cleanlab suspects are wrong (confident learning on "
        "out-of-sample probabilities: cross-validated for text, the auto-labels' for image "
        "classification); they go back to the review queue.",
    )
    def label_issues(
        context: dg.AssetExecutionContext,
        encoder: TextEncoderResource,
        reviewed_labels: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        find = project_loop(project, encoder).label_issues
        if find is None:
            raise dg.Failure(f"project {project.name} has no label-issue check")
        issues = find(reviewed_labels)
        preview = issues.head(10).to_markdown(index=False) if len(issues) else "no issues"
        metadata = {
            "dagster/row_count": len(issues),
            "audited": len(reviewed_labels),
            "preview": dg.MetadataValue.md(preview),
        }
        return dg.Output(issues[ISSUE_COLUMNS], metadata=metadata)

    return label_issues
