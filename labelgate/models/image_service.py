"""The model loop of image detection projects: distill the latest approved box label set into
a YOLO student, score it on held-out human-reviewed images, promote it only when it wins.

- Training data: the label set's box sets minus the **evaluation bucket** (the same id-hash
  bucket as text, :mod:`labelgate.models.split`); the bucket's human-reviewed box sets are
  the YOLO export's ``val`` split and the evaluation split. Training starts from
  ``training.base_model`` (a ``.pt``) or ``yolov8n.yaml``.
- Evaluation: the challenger, and the current champion or (with no champion yet) the
  project's teacher (its first configured ``yolo`` labeler, used as configured), label the
  evaluation images; each is scored with mAP50 / mAP50-95 against the human boxes by the same
  function, so a student that cannot beat the teacher is never promoted.
- The champion labels as an extra ``yolo`` source named ``champion``, version = model id.
"""

import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from labelgate.ids import sha256_file
from labelgate.images.boxes import Boxes, DetectionScores, detection_scores
from labelgate.images.export import export_yolo
from labelgate.images.labelers import YoloDetector
from labelgate.images.project import ImageProjectData
from labelgate.images.spec import YoloLabelerSpec
from labelgate.label_sets import LabelSet, LabelSetStore
from labelgate.ledger import Ledger
from labelgate.ledger.events import MODEL_NOT_PROMOTED, MODEL_PROMOTED, MODEL_TRAINED
from labelgate.models.box_cache import CachedDetector, box_cache
from labelgate.models.config import TrainingSpec
from labelgate.models.detector import starting_point, train_detector
from labelgate.models.promotion import Decision
from labelgate.models.registry import TRAIN_ITEMS, ModelCard, ModelRegistry
from labelgate.models.service import ACTOR, Trained, items_hash, latest_approved
from labelgate.models.split import SALT, in_eval_bucket
from labelgate.models.training import TrainingError
from labelgate.spec import ProjectSpec

METHOD = "yolo"
WEIGHTS = "weights.pt"
CHAMPION_SOURCE = "champion"
METRIC = "map50"


def _training(spec: ProjectSpec) -> TrainingSpec:
    if spec.training is None:
        raise TrainingError(f"project {spec.name} has no training: section")
    if spec.modality != "image_detection":
        raise TrainingError(f"project {spec.name}: YOLO students are for image_detection")
    return spec.training


def base_weights(spec: ProjectSpec) -> Path | None:
    """``training.base_model`` as a path (relative to the project file), if set."""
    base = _training(spec).base_model
    if not base:
        return None
    path = Path(base)
    if not path.is_absolute() and spec.spec_path is not None:
        path = spec.spec_path.parent / path
    return path


def teacher_spec(spec: ProjectSpec) -> YoloLabelerSpec:
    teachers = [s for s in spec.labelers if isinstance(s, YoloLabelerSpec)]
    if not teachers:
        raise TrainingError(f"project {spec.name} has no yolo labeler to distill from")
    return teachers[0]


def split_box_set(spec: ProjectSpec, labels: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, evaluation): outside the bucket / human-reviewed inside it."""
    bucket = in_eval_bucket(labels["item_id"], _training(spec).eval_fraction)
    train = labels[~bucket].reset_index(drop=True)
    evaluation = labels[bucket & (labels["source"] == "human").to_numpy()].reset_index(drop=True)
    return train, evaluation


def _fingerprint(spec: ProjectSpec, label_set: LabelSet, hyper: dict, base: Path | None) -> str:
    base_sha = sha256_file(base) if base is not None and base.is_file() else None
    payload = {
        "label_set": label_set.manifest.get("content_sha256") or f"v{label_set.version}",
        "hyperparameters": hyper,
        "classes": spec.class_names,
        "base_sha256": base_sha,
        "salt": SALT,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def train_student(spec: ProjectSpec, *, device: str = "cpu", run_id: str | None = None) -> Trained:
    """Train a YOLO student on the latest approved box label set (a no-op when that exact
    model exists); card and weights go to the registry, ``model_trained`` to the ledger."""
    training = _training(spec)
    label_set = latest_approved(
        spec,
        rule="the YOLO student trains on approved label sets only (approve one with "
        "`labelgate approve` first)",
    )
    labels = label_set.labels()
    if "boxes" not in labels.columns:
        raise TrainingError(f"label set v{label_set.version} holds no box sets")
    train, evaluation = split_box_set(spec, labels)
    needed = training.eval_minimum(len(labels))
    if len(evaluation) < needed:
        raise TrainingError(
            f"label set v{label_set.version}: {len(evaluation)} human-reviewed image(s) in the "
            f"evaluation bucket, need {needed} (training.min_eval_items; unset, it scales "
            f"with the label set: a quarter of eval_fraction x {len(labels)} images, 5 to 20)"
        )
    if train.empty:
        raise TrainingError(f"label set v{label_set.version}: no images left to train on")
    base = base_weights(spec)
    hyper = {
        "epochs": training.epochs,
        "imgsz": training.imgsz,
        "batch_size": training.batch_size,
        "seed": training.seed,
        "base": starting_point(base),
        "eval_fraction": training.eval_fraction,
    }
    registry = ModelRegistry(spec)
    print_ = _fingerprint(spec, label_set, hyper, base)
    existing = registry.by_fingerprint(print_)
    if existing is not None:
        return Trained(existing, False)
    items = ImageProjectData(spec).image_items()
    split = {
        **dict.fromkeys(train["item_id"], "train"),
        **dict.fromkeys(evaluation["item_id"], "val"),
    }
    frame = pd.concat([train, evaluation], ignore_index=True)
    registry.root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=".train-", dir=registry.root) as work:
        dataset = export_yolo(frame, items, spec.class_names, Path(work) / "yolo", split_by=split)
        result = train_detector(
            dataset,
            Path(work) / "student",
            base=base,
            epochs=training.epochs,
            imgsz=training.imgsz,
            batch=training.batch_size,
            seed=training.seed,
            device=device,
        )
        seconds = round(time.perf_counter() - started, 2)
        card = ModelCard(
            model_id=f"v{label_set.version}-{METHOD}-{print_[:8]}",
            project=spec.name,
            method=METHOD,
            label_set_version=label_set.version,
            label_set_hash=str(label_set.manifest.get("content_sha256", "")),
            hyperparameters=hyper,
            encoder=result.base,
            classes=list(spec.class_names),
            n_train=len(train),
            n_train_human=int((train["source"] == "human").sum()),
            n_eval=len(evaluation),
            metrics={
                "val_map50": round(result.map50, 6),
                "val_map50_95": round(result.map50_95, 6),
            },
            training_seconds=seconds,
            trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
            fingerprint=print_,
            training_log={"ultralytics_train_seconds": round(result.seconds, 2)},
        )

        def build(folder: Path) -> None:
            shutil.copyfile(result.weights, folder / WEIGHTS)
            train[["item_id", "source"]].to_parquet(folder / TRAIN_ITEMS, index=False)

        registry.add(card, build)
    Ledger.for_project(spec).append(
        MODEL_TRAINED,
        {
            "model_id": card.model_id,
            "label_set_version": card.label_set_version,
            "label_set_sha256": card.label_set_hash,
            "method": METHOD,
            "hyperparameters": hyper,
            "n_train": card.n_train,
            "n_eval": card.n_eval,
            **card.metrics,
            "training_seconds": seconds,
        },
        run_id=run_id,
        actor=ACTOR,
        dedup_key=f"model_trained:{card.model_id}",
    )
    return Trained(card, True)


def student_spec(
    spec: ProjectSpec, card: ModelCard, *, name: str = CHAMPION_SOURCE
) -> YoloLabelerSpec:
    """The student as a labeler: the teacher's thresholds, its own weights and size."""
    teacher = teacher_spec(spec)
    return teacher.model_copy(
        update={
            "name": name,
            "path": ModelRegistry(spec).folder(card.model_id) / WEIGHTS,
            "imgsz": int(card.hyperparameters["imgsz"]),
            "ontology": {},
            "tta": False,
        }
    )


def active_student(spec: ProjectSpec) -> ModelCard | None:
    """The champion a detection project labels with (None: no training, none promoted, or
    stale until a new one is)."""
    if spec.training is None or spec.modality != "image_detection":
        return None
    card = ModelRegistry(spec).champion()
    if card is None or card.stale or card.method != METHOD:
        return None
    return card


def champion_detector(spec: ProjectSpec) -> CachedDetector | None:
    """The promoted student as an extra source; it scores each image once (cached by model
    id and image content), so a re-label runs it only on images it has not scored."""
    card = active_student(spec)
    if card is None:
        return None
    detector = CachedDetector(student_spec(spec, card), spec.class_names, box_cache(spec))
    detector.version = card.model_id
    return detector


def teacher_detectors(spec: ProjectSpec) -> list[CachedDetector]:
    """The configured detectors, each scoring an image once per weights and settings (cached
    like the champion), so a re-label or a re-run of candidate_labels runs them only on
    images they have not scored."""
    cache = box_cache(spec)
    return [
        CachedDetector(s, spec.class_names, cache, settings_in_key=True)
        for s in spec.labelers
        if isinstance(s, YoloLabelerSpec)
    ]


def _score(
    detector: YoloDetector, paths: list[str], truth: list[Boxes], names: list[str]
) -> DetectionScores:
    predicted, _ = detector.predict(paths)
    plain = [b if b is not None else Boxes.empty() for b in predicted[detector.name]]
    return detection_scores(plain, truth, names)


@dataclass(frozen=True)
class ImageEvaluation:
    challenger: ModelCard
    scores: DetectionScores
    baseline: str  # "champion" | "teacher" | "none" (the challenger is the champion)
    baseline_id: str
    baseline_scores: DetectionScores | None
    split_sha256: str
    n_eval: int


def evaluation_images(
    spec: ProjectSpec, card: ModelCard
) -> tuple[list[str], list[str], list[Boxes]]:
    """(item ids, image paths, human boxes) of the card's evaluation split."""
    labels = LabelSetStore(spec).get(card.label_set_version).labels()
    evaluation = split_box_set(spec, labels)[1]
    items = ImageProjectData(spec).image_items().set_index("item_id")
    missing = sorted(set(evaluation["item_id"]) - set(items.index))
    if missing:
        raise TrainingError(f"{len(missing)} evaluation image(s) not in raw_items: {missing[:3]}")
    ids = evaluation["item_id"].astype(str).tolist()
    paths = [str(items.loc[i, "path"]) for i in ids]
    return ids, paths, [Boxes.from_records(b) for b in evaluation["boxes"]]


def evaluate_student(spec: ProjectSpec, model_id: str) -> ImageEvaluation:
    """Challenger and baseline (champion, else teacher) on the challenger's evaluation split."""
    registry = ModelRegistry(spec)
    card = registry.get(model_id)
    ids, paths, truth = evaluation_images(spec, card)
    names = list(spec.class_names)
    scores = _score(
        YoloDetector(student_spec(spec, card, name="challenger"), names), paths, truth, names
    )
    champion = registry.champion()
    if champion is not None and champion.model_id == model_id:
        baseline, baseline_id, baseline_scores = "none", model_id, None
    elif champion is not None:
        detector = YoloDetector(student_spec(spec, champion), names)
        baseline, baseline_id = "champion", champion.model_id
        baseline_scores = _score(detector, paths, truth, names)
    else:
        teacher = teacher_spec(spec).model_copy(update={"tta": False})
        detector = YoloDetector(teacher, names)
        baseline, baseline_id = "teacher", f"{teacher.name}@{detector.version}"
        baseline_scores = _score(detector, paths, truth, names)
    return ImageEvaluation(
        card, scores, baseline, baseline_id, baseline_scores, items_hash(pd.Series(ids)), len(ids)
    )


def decide_student(
    spec: ProjectSpec, evaluation: ImageEvaluation, *, run_id: str | None = None
) -> Decision:
    """Promote iff the challenger's mAP50 >= the baseline's + margin on the same images; the
    decision and its evidence go to the ledger (``model_promoted`` / ``model_not_promoted``)
    and the card."""
    margin = _training(spec).promotion_margin
    challenger = evaluation.challenger
    score = evaluation.scores.map50
    best = None if evaluation.baseline_scores is None else evaluation.baseline_scores.map50
    champion = evaluation.baseline_id if evaluation.baseline == "champion" else None
    common = {
        "challenger": challenger.model_id,
        "champion": champion,
        "metric": METRIC,
        "challenger_score": round(score or 0.0, 6),
        "champion_score": None if best is None else round(best, 6),
        "margin": margin,
        "n_eval": evaluation.n_eval,
    }
    if evaluation.baseline == "none":
        return Decision(False, reason="already the champion", **common)
    if challenger.stale:
        promote, reason = False, "challenger is stale"
    elif score is None:
        promote, reason = False, "mAP50 undefined: the evaluation images hold no true box"
    else:
        best_value = best or 0.0
        promote = score >= best_value + margin
        sign = ">=" if promote else "<"
        reason = (
            f"mAP50 {score:.4f} {sign} {evaluation.baseline} {best_value:.4f} + margin {margin}"
        )
    decision = Decision(promote, reason=reason, **common)
    evidence = {
        **decision.to_dict(),
        "baseline": evaluation.baseline,
        "baseline_id": evaluation.baseline_id,
        "label_set_version": challenger.label_set_version,
        "challenger_metrics": evaluation.scores.to_metadata(),
        "baseline_metrics": (
            evaluation.baseline_scores.to_metadata() if evaluation.baseline_scores else None
        ),
        "eval_items_sha256": evaluation.split_sha256,
    }
    registry = ModelRegistry(spec)
    if promote:
        registry.set_champion(challenger.model_id, evidence=evidence)
    else:
        registry.note(challenger.model_id, {"event": "not_promoted", "reason": reason})
    Ledger.for_project(spec).append(
        MODEL_PROMOTED if promote else MODEL_NOT_PROMOTED,
        evidence,
        run_id=run_id,
        actor=ACTOR,
        dedup_key=f"promotion:{challenger.model_id}:{evaluation.baseline_id}",
    )
    return decision


def in_sample_items(spec: ProjectSpec, auto_labels: pd.DataFrame) -> set[str]:
    """Items whose auto-label a champion helped make *and* that champion trained on: their
    confidence is an in-sample guess, so the gate must not calibrate on them (the image
    counterpart of the text champion's out-of-fold probabilities)."""
    registry = ModelRegistry(spec)
    trained_on: dict[str, set[str]] = {}
    found: set[str] = set()
    for item_id, versions in zip(
        auto_labels["item_id"], auto_labels["labeler_versions"], strict=True
    ):
        model_id = json.loads(versions or "{}").get(CHAMPION_SOURCE)
        if model_id is None:
            continue
        if model_id not in trained_on:
            folder = registry.folder(model_id) / TRAIN_ITEMS
            items = pd.read_parquet(folder)["item_id"] if folder.is_file() else []
            trained_on[model_id] = {str(i) for i in items}
        if str(item_id) in trained_on[model_id]:
            found.add(str(item_id))
    return found
