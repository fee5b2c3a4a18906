"""trained_model, model_evaluation and champion_model for image detection projects: a YOLO
student distilled from the latest approved box label set, scored with mAP50 / mAP50-95 on
held-out human-reviewed images against the champion (or, with none yet, the teacher), and
promoted only when it wins by the margin."""

import json

import dagster as dg
import pandas as pd

from assets.common import present
from assets.image_common import ImageProjectAssets
from assets.models import (
    CHAMPION_MODEL,
    MODEL_EVALUATION,
    TRAINED_MODEL,
    _versioned,
    card_metadata,
)
from labelgate.images.boxes import DetectionScores
from labelgate.images.labelers import resolve_device
from labelgate.models.image_service import (
    ImageEvaluation,
    decide_student,
    evaluate_student,
    teacher_spec,
    train_student,
)
from labelgate.models.registry import ModelRegistry
from labelgate.project import ACCEPTED_LABELS


def _scores(frame_row: object) -> DetectionScores:
    return DetectionScores(**json.loads(frame_row.metrics_json))  # type: ignore[attr-defined]


def build_image_model_assets(project: ImageProjectAssets) -> list[dg.AssetsDefinition]:
    spec = project.spec
    common = {
        "key_prefix": [project.name],
        "group_name": project.name,
        "io_manager_key": project.io_manager_key,
    }

    @dg.asset(
        name=TRAINED_MODEL,
        deps=[project.key(ACCEPTED_LABELS)],
        kinds={"pytorch"},
        description="A YOLO student trained (ultralytics) on the YOLO export of the latest "
        "APPROVED box label set, evaluation bucket held out, from training.base_model or "
        "yolov8n.yaml; weights and model card in the registry.",
        **common,
    )
    def trained_model(context: dg.AssetExecutionContext) -> dg.Output[pd.DataFrame]:
        device = resolve_device(teacher_spec(spec).device)
        trained = train_student(spec, device=device, run_id=context.run_id)
        card = trained.card
        row = {
            "model_id": card.model_id,
            "label_set_version": card.label_set_version,
            "method": card.method,
            "n_train": card.n_train,
            "n_eval": card.n_eval,
            "val_map50": card.metrics["val_map50"],
            "val_map50_95": card.metrics["val_map50_95"],
            "training_seconds": card.training_seconds,
            "trained_at": card.trained_at,
        }
        return _versioned(
            pd.DataFrame([row]),
            card.fingerprint[:16],
            card_metadata(spec, card, new=trained.new),
        )

    @dg.asset(
        name=MODEL_EVALUATION,
        ins={"trained_model": dg.AssetIn(key=project.key(TRAINED_MODEL))},
        kinds={"pandas"},
        description="mAP50 / mAP50-95 of the student and of the champion (or, with none yet, "
        "the teacher) on the same held-out human-reviewed images.",
        **common,
    )
    def model_evaluation(
        context: dg.AssetExecutionContext, trained_model: pd.DataFrame
    ) -> dg.Output[pd.DataFrame]:
        result = evaluate_student(spec, str(trained_model["model_id"].iloc[0]))
        scored = [("challenger", result.challenger.model_id, result.scores)]
        if result.baseline_scores is not None:
            scored.append((result.baseline, result.baseline_id, result.baseline_scores))
        frame = pd.DataFrame(
            [
                {
                    "role": role,
                    "model_id": mid,
                    "n_eval": result.n_eval,
                    "map50": s.map50,
                    "map50_95": s.map50_95,
                    "metrics_json": json.dumps(s.__dict__, sort_keys=True),
                    "eval_items_sha256": result.split_sha256,
                }
                for role, mid, s in scored
            ]
        )
        metadata = {
            "dagster/row_count": len(frame),
            "challenger": result.challenger.model_id,
            "baseline": f"{result.baseline} {result.baseline_id}",
            "n_eval": result.n_eval,
            **present(map50=result.scores.map50),
            "scores": dg.MetadataValue.json({role: s.to_metadata() for role, _, s in scored}),
        }
        return dg.Output(frame, metadata=metadata)

    @dg.asset(
        name=CHAMPION_MODEL,
        ins={"model_evaluation": dg.AssetIn(key=project.key(MODEL_EVALUATION))},
        kinds={"pandas"},
        description="The student the project labels with (extra yolo source `champion`). A "
        "challenger is promoted only when its mAP50 beats the champion's (or, with none yet, "
        "the teacher's) by training.promotion_margin; the decision goes to the ledger.",
        **common,
    )
    def champion_model(
        context: dg.AssetExecutionContext, model_evaluation: pd.DataFrame
    ) -> dg.Output[pd.DataFrame]:
        registry = ModelRegistry(spec)
        rows = {row.role: row for row in model_evaluation.itertuples(index=False)}
        challenger = rows["challenger"]
        baseline_role = next((r for r in rows if r != "challenger"), "none")
        baseline = rows.get(baseline_role)
        current = registry.champion()
        expected = baseline.model_id if baseline_role == "champion" else None
        if baseline_role != "none" and (current.model_id if current else None) != expected:
            raise dg.Failure(
                "the champion changed since model_evaluation ran; materialize it again"
            )
        evaluation = ImageEvaluation(
            challenger=registry.get(challenger.model_id),
            scores=_scores(challenger),
            baseline=baseline_role,
            baseline_id=baseline.model_id if baseline is not None else challenger.model_id,
            baseline_scores=_scores(baseline) if baseline is not None else None,
            split_sha256=challenger.eval_items_sha256,
            n_eval=int(challenger.n_eval),
        )
        decision = decide_student(spec, evaluation, run_id=context.run_id)
        now = registry.champion()
        frame = pd.DataFrame(
            [{**decision.to_dict(), "now_champion": now.model_id if now else None}]
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

    return [trained_model, model_evaluation, champion_model]
