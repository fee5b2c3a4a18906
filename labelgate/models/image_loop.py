"""The image model loops.

Detection: a YOLO student distilled from the approved box label set, scored with mAP50 /
mAP50-95 against the champion or, with none yet, the teacher
(:mod:`labelgate.models.image_service`); churn compares box sets at IoU 0.5
(:mod:`labelgate.models.box_churn`); no label-issue check (see
:mod:`labelgate.models.issues`).

Classification: no student is trained yet (the labelers are pretrained YOLO classifiers), so
there is nothing to promote, re-label with or churn; drift and label issues from the
auto-labels' probabilities still apply.
"""

import json

import pandas as pd

from labelgate.images.boxes import DetectionScores
from labelgate.images.labelers import resolve_device
from labelgate.images.project import ImageProjectData
from labelgate.models.box_churn import BOX_CHURN, box_label_state
from labelgate.models.image_service import (
    ImageEvaluation,
    decide_student,
    evaluate_student,
    teacher_spec,
    train_student,
)
from labelgate.models.issues import probability_label_issues
from labelgate.models.loop import EvaluationReport, ModelLoop, Student, assert_current
from labelgate.models.promotion import Decision
from labelgate.models.registry import ModelCard, ModelRegistry
from labelgate.models.service import Trained
from labelgate.spec import ProjectSpec


def _scores(row: object) -> DetectionScores:
    return DetectionScores(**json.loads(row.metrics_json))  # type: ignore[attr-defined]


class DetectionStudent(Student):
    churn = BOX_CHURN
    describe_student = (
        "a YOLO student (ultralytics) trained on the YOLO export of the latest approved box "
        "label set from training.base_model or yolov8n.yaml"
    )
    describe_evaluation = (
        "mAP50 / mAP50-95 of the student and of the champion (or, with none yet, the teacher)"
    )

    def train(self, *, run_id: str | None = None) -> Trained:
        device = resolve_device(teacher_spec(self.spec).device)
        return train_student(self.spec, device=device, run_id=run_id)

    def card_scores(self, card: ModelCard) -> dict[str, float]:
        return {
            "val_map50": card.metrics["val_map50"],
            "val_map50_95": card.metrics["val_map50_95"],
        }

    def evaluate(self, model_id: str) -> EvaluationReport:
        result = evaluate_student(self.spec, model_id)
        scored = [("challenger", model_id, result.scores)]
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
            "challenger": model_id,
            "baseline": f"{result.baseline} {result.baseline_id}",
            "n_eval": result.n_eval,
            "map50": result.scores.map50,
        }
        scores = {role: s.to_metadata() for role, _, s in scored}
        return EvaluationReport(frame, metadata, json={"scores": scores})

    def decide(self, frame: pd.DataFrame, *, run_id: str | None = None) -> Decision:
        assert_current(self.spec, frame)
        rows = {row.role: row for row in frame.itertuples(index=False)}
        challenger = rows["challenger"]
        baseline_role = next((r for r in rows if r != "challenger"), "none")
        baseline = rows.get(baseline_role)
        evaluation = ImageEvaluation(
            challenger=ModelRegistry(self.spec).get(challenger.model_id),
            scores=_scores(challenger),
            baseline=baseline_role,
            baseline_id=baseline.model_id if baseline is not None else challenger.model_id,
            baseline_scores=_scores(baseline) if baseline is not None else None,
            split_sha256=challenger.eval_items_sha256,
            n_eval=int(challenger.n_eval),
        )
        return decide_student(self.spec, evaluation, run_id=run_id)

    def label_state(self, auto_labels: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
        return box_label_state(auto_labels, candidates)


def detection_loop(spec: ProjectSpec) -> ModelLoop:
    return ModelLoop(spec, DetectionStudent(spec))


def classification_loop(spec: ProjectSpec) -> ModelLoop:
    """No student yet (the labelers are pretrained YOLO classifiers): drift and label
    issues from the auto-labels' probabilities only."""

    def issues(reviewed: pd.DataFrame) -> pd.DataFrame:
        data = ImageProjectData(spec)
        return probability_label_issues(data, reviewed, data.auto_labels())

    return ModelLoop(spec, None, issues)
