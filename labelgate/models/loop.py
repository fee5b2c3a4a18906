"""One model loop, many modalities: what a project's modality does its own way.

The Dagster assets (``assets/models.py``, ``assets/relabel.py``) and the CLI hold the flow
once: train on the latest approved label set, score challenger and baseline on the same
held-out split, promote only on a win, re-label with the champion, report churn, check drift,
flag label issues. A modality is a small :class:`ModelLoop` subclass that overrides only what
differs (how a :class:`Student` trains and is scored, how a decision is re-read from the
evaluation table, what churn means, where label issues come from), as ultralytics' tasks do
on one engine. Implementations: :mod:`labelgate.models.text_loop`,
:mod:`labelgate.models.image_loop`; :func:`labelgate.models.loops.model_loop` picks one.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from labelgate.errors import LabelgateError
from labelgate.models.churn import CLASS_CHURN, ChurnKind, label_state
from labelgate.models.promotion import Decision
from labelgate.models.registry import ModelCard, ModelRegistry
from labelgate.models.service import Trained
from labelgate.spec import ProjectSpec

# Columns every model_evaluation row has; a loop adds its headline scores.
EVALUATION_COLUMNS = ["role", "model_id", "n_eval", "metrics_json", "eval_items_sha256"]


class StaleEvaluation(LabelgateError):
    """The champion changed between model_evaluation and champion_model."""


@dataclass(frozen=True)
class EvaluationReport:
    """model_evaluation's table (one row per scored model, ``role`` challenger first) and
    what its materialization shows: plain values, JSON and markdown."""

    frame: pd.DataFrame
    metadata: dict[str, Any]
    json: dict[str, Any] = field(default_factory=dict)
    markdown: dict[str, str] = field(default_factory=dict)


def assert_current(spec: ProjectSpec, frame: pd.DataFrame) -> ModelCard | None:
    """The registry's champion, if it is still the one ``frame`` was scored against: the
    ``champion`` row's model, else none or the challenger itself."""
    roles = dict(zip(frame["role"], frame["model_id"], strict=True))
    current = ModelRegistry(spec).champion()
    now = current.model_id if current else None
    expected = roles.get("champion")
    if now != expected and not (expected is None and now in (None, roles["challenger"])):
        raise StaleEvaluation(
            f"the champion changed since model_evaluation ran ({expected or 'none'} -> "
            f"{now or 'none'}); materialize model_evaluation again"
        )
    return current


class Student(ABC):
    """How a modality's student trains, is scored and decided on, and re-labels."""

    kinds: frozenset[str] = frozenset({"pytorch"})
    code_version: str | None = None
    churn: ChurnKind = CLASS_CHURN
    describe_student = "a student"
    describe_evaluation = "held-out scores of the student and its baseline"

    def __init__(self, spec: ProjectSpec) -> None:
        self.spec = spec

    @abstractmethod
    def train(self, *, run_id: str | None = None) -> Trained:
        """Train on the latest approved label set (a no-op when that exact model exists)."""

    @abstractmethod
    def card_scores(self, card: ModelCard) -> dict[str, float]:
        """The card's headline held-out scores, as trained_model columns."""

    @abstractmethod
    def evaluate(self, model_id: str) -> EvaluationReport:
        """Score the challenger and its baseline on the challenger's evaluation split."""

    @abstractmethod
    def decide(self, frame: pd.DataFrame, *, run_id: str | None = None) -> Decision:
        """Promote or not from model_evaluation's table; raises :class:`StaleEvaluation`
        when the champion changed since it was scored."""

    def label_state(self, auto_labels: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
        """A batch's label state (``labelgate.models.churn.STATE_COLUMNS``)."""
        return label_state(auto_labels, candidates)


@dataclass(frozen=True)
class ModelLoop:
    """A project's model loop: its student (None: the modality trains none) and its finder
    of suspected human label errors (None: it has none)."""

    spec: ProjectSpec
    student: Student | None
    label_issues: Callable[[pd.DataFrame], pd.DataFrame] | None = None
