"""The model registry: one folder per trained model under ``{project_dir}/models/``.

``{model_id}/card.json`` is the model card (label-set version, hyperparameters, metrics,
training time, stale flag); beside it the weights (``head.joblib`` or ``hf/``), the training
items (``train_items.parquet``: which labels the model learned, needed to honour erasure)
and their out-of-fold probabilities (``oof.parquet``). ``champion.json`` names the model the
project labels with. A model folder is built under a temporary name and renamed into place,
so a crash never leaves half a model behind.
"""

import builtins
import json
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from labelgate.errors import LabelgateError
from labelgate.spec import ProjectSpec
from labelgate.storage import fsync_dir, write_text_atomic

CARD = "card.json"
CHAMPION = "champion.json"
TRAIN_ITEMS = "train_items.parquet"
OOF = "oof.parquet"


@dataclass(frozen=True)
class ModelCard:
    model_id: str
    project: str
    method: str
    label_set_version: int
    label_set_hash: str
    hyperparameters: dict
    encoder: str  # embedding encoder version (head) or base model folder version (finetune)
    classes: list[str]
    n_train: int
    n_train_human: int
    n_eval: int
    metrics: dict  # labelgate.models.metrics.Metrics.to_dict() on the evaluation split
    training_seconds: float
    trained_at: str
    fingerprint: str  # hash of everything the weights depend on
    stale: bool = False
    stale_reason: str = ""
    history: list[dict] = field(default_factory=list)  # promotions, stale marks ...
    training_log: dict = field(default_factory=dict)  # e.g. finetune's loss per epoch

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


class RegistryError(LabelgateError, ValueError):
    """A model that does not exist, or a registry folder that is not what it should be."""


class ModelRegistry:
    def __init__(self, spec: ProjectSpec) -> None:
        self.spec = spec
        self.root = spec.project_dir / "models"

    def folder(self, model_id: str) -> Path:
        return self.root / model_id

    def exists(self, model_id: str) -> bool:
        return (self.folder(model_id) / CARD).is_file()

    def get(self, model_id: str) -> ModelCard:
        path = self.folder(model_id) / CARD
        if not path.is_file():
            known = [c.model_id for c in self.list()]
            raise RegistryError(f"no model {model_id!r} in {self.root}; known: {known}")
        return ModelCard(**json.loads(path.read_text(encoding="utf-8")))

    def list(self) -> list[ModelCard]:
        """Every trained model, oldest first."""
        if not self.root.is_dir():
            return []
        cards = [self.get(p.parent.name) for p in self.root.glob(f"*/{CARD}")]
        return sorted(cards, key=lambda c: (c.trained_at, c.model_id))

    def by_fingerprint(self, fingerprint: str) -> ModelCard | None:
        return next((c for c in self.list() if c.fingerprint == fingerprint), None)

    def champion(self) -> ModelCard | None:
        path = self.root / CHAMPION
        if not path.is_file():
            return None
        return self.get(json.loads(path.read_text(encoding="utf-8"))["model_id"])

    def set_champion(self, model_id: str, *, evidence: dict) -> ModelCard:
        card = self.get(model_id)
        if card.stale:
            raise RegistryError(f"model {model_id} is stale ({card.stale_reason}); retrain it")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        pointer = {"model_id": model_id, "promoted_at": now, "evidence": evidence}
        self._update(card, history=[*card.history, {"event": "promoted", "at": now}])
        write_text_atomic(self.root / CHAMPION, json.dumps(pointer, indent=2, sort_keys=True))
        return self.get(model_id)

    def note(self, model_id: str, entry: dict) -> ModelCard:
        """Append an entry (e.g. a not-promoted decision) to a model card's history."""
        card = self.get(model_id)
        return self._update(card, history=[*card.history, entry])

    def _update(self, card: ModelCard, **changes: object) -> ModelCard:
        card = replace(card, **changes)
        write_text_atomic(self.folder(card.model_id) / CARD, card.to_json())
        return card

    def add(self, card: ModelCard, build: Callable[[Path], None]) -> ModelCard:
        """Create ``{model_id}/``: ``build(folder)`` writes the weights into a temporary
        folder, the card is written last, then the folder is renamed into place."""
        if self.exists(card.model_id):
            raise RegistryError(f"model {card.model_id} already exists in {self.root}")
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{card.model_id}.", dir=self.root))
        try:
            build(tmp)
            (tmp / CARD).write_text(card.to_json(), encoding="utf-8")
            tmp.rename(self.folder(card.model_id))
            fsync_dir(self.root)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
        return card

    def train_items(self, model_id: str) -> pd.DataFrame:
        return pd.read_parquet(self.folder(model_id) / TRAIN_ITEMS)

    def oof(self, model_id: str) -> pd.DataFrame:
        return pd.read_parquet(self.folder(model_id) / OOF)

    def mark_stale_for_items(self, item_ids: Iterable[str], reason: str) -> builtins.list[str]:
        """Flag every model that learned from any of ``item_ids`` (e.g. erased items) as
        stale: a stale model is never used to label and cannot be promoted."""
        wanted = set(item_ids)
        marked = []
        for card in self.list():
            trained_on = set(self.train_items(card.model_id)["item_id"])
            hit = len(trained_on & wanted)
            if hit and not card.stale:
                now = datetime.now(UTC).isoformat(timespec="seconds")
                entry = {"event": "marked_stale", "at": now, "reason": reason, "items": hit}
                self._update(card, stale=True, stale_reason=reason, history=[*card.history, entry])
                marked.append(card.model_id)
        return marked
