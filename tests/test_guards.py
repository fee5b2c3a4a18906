"""Guards for promises no other test held (issue 11, item 6): each test fails when the
promise it names is broken. The mutation each one catches is named in its docstring."""

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from labelgate.accept import run_gate
from labelgate.embeddings import CachedEmbedder, EmbeddingCache, HashingEncoder
from labelgate.governance.approval import reviewers_of
from labelgate.governance.erasure import erase_item
from labelgate.governance.verify import verify_project
from labelgate.images.boxes import DetectionScores
from labelgate.images.gate import run_detection_gate
from labelgate.ledger import Ledger
from labelgate.ledger.commit import commit_file
from labelgate.ledger.events import ITEM_INGESTED, REVIEW_DECISION
from labelgate.ledger.hashing import row_hash
from labelgate.models import monitor
from labelgate.models.image_service import ImageEvaluation, decide_student, split_box_set
from labelgate.models.registry import ModelCard, ModelRegistry
from labelgate.models.training import TrainingData, train_model
from labelgate.project import ProjectData
from labelgate.spec import GateSpec, ProjectSpec
from tests.conftest import ProjectFactory
from tests.image_projects import write_detection_project

# --- (a), (b): the gates calibrate on random calibration reviews only ------------------------


def _text_frames(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """n calibration reviews, all right, and n uncertain reviews, all wrong, same confidence."""
    ids = [f"c{i}" for i in range(n)] + [f"u{i}" for i in range(n)]
    auto = pd.DataFrame({"item_id": ids, "label": "a", "confidence": 0.99})
    reviewed = pd.DataFrame(
        {
            "item_id": ids,
            "label": ["a"] * n + ["b"] * n,
            "purpose": ["calibration"] * n + ["uncertain"] * n,
        }
    )
    return auto, reviewed


def test_a_text_gate_ignores_uncertain_reviews() -> None:
    """Mutation caught: ``calibration_evidence`` keeping every review, not only calibration."""
    auto, reviewed = _text_frames(200)
    result = run_gate(auto, reviewed, GateSpec(target_accuracy=0.9, confidence=0.9))
    assert result.n_calibration == 200
    assert result.threshold is not None  # the 200 right calibration items pass alone


def _box(x: float, label: str = "pill", confidence: float = 1.0) -> dict[str, Any]:
    return {"label": label, "x1": x, "y1": 0.1, "x2": x + 0.05, "y2": 0.2, "confidence": confidence}


@pytest.mark.parametrize("criterion", ["box", "exact"])
def test_b_detection_gate_ignores_uncertain_reviews(criterion: str) -> None:
    """Mutation caught: ``box_evidence`` / ``run_detection_gate`` (exact) taking ``uncertain``
    or ``adhoc`` reviews as calibration evidence."""
    n = 150
    right = [_box(0.1, confidence=0.9), _box(0.5, confidence=0.9)]
    ids = [f"c{i}" for i in range(n)] + [f"u{i}" for i in range(n)]
    auto = pd.DataFrame(
        {"item_id": ids, "boxes": [right] * (2 * n), "confidence": 0.9,
         "max_dropped_confidence": 0.0}
    )  # fmt: skip
    wrong = [_box(0.3), _box(0.7)]  # the uncertain images hold other objects entirely
    reviewed = pd.DataFrame(
        {
            "item_id": ids,
            "boxes": [right] * n + [wrong] * n,
            "purpose": ["calibration"] * n + ["uncertain"] * (n // 2) + ["adhoc"] * (n - n // 2),
        }
    )
    gate = GateSpec(target_accuracy=0.9, confidence=0.9, detection_criterion=criterion)
    result = run_detection_gate(auto, reviewed, gate)
    assert result.n_calibration == n
    assert result.threshold is not None


# --- (c): the champion's stored out-of-fold probabilities are out of fold ---------------------


def test_c_stored_oof_probabilities_are_not_in_sample(make_project: ProjectFactory) -> None:
    """Mutations caught: ``train_model`` storing the final model's (in-sample) probabilities
    as ``oof.parquet``, or ``out_of_fold_proba`` fitting each fold on every item.

    Every item's label is noise (drawn at random, independent of the text): a model that saw
    an item memorizes its label, one that did not can only guess (about 1 in 3)."""
    spec = make_project(training={"method": "head", "min_eval_items": 1, "oof_folds": 3})
    rng = np.random.default_rng(0)
    n = 150
    letters = list("abcdefghijklmnopqrstuvwxyz")
    words = ["".join(rng.choice(letters, 7)) for _ in range(12 * n)]  # no word repeats
    texts = [" ".join(words[12 * i : 12 * (i + 1)]) for i in range(n)]
    labels = pd.DataFrame(
        {
            "item_id": [f"{i:016x}" for i in range(n)],
            "label": rng.choice(spec.class_names[:3], n),
            "source": "human",
            "text": texts,
        }
    )
    card, _ = train_model(
        spec, TrainingData(1, "noise", labels), CachedEmbedder(HashingEncoder(), None)
    )
    registry = ModelRegistry(spec)
    oof = registry.oof(card.model_id).merge(labels, on="item_id")
    guessed = [spec.class_names[int(np.argmax(p))] for p in oof["probs"]]
    agreement = float(np.mean(np.array(guessed) == oof["label"].to_numpy()))
    assert agreement < 0.6, f"stored 'out-of-fold' probabilities agree {agreement:.0%}: in-sample"


# --- (d): the ledger hash covers prev_hash --------------------------------------------------


def test_d_row_hash_covers_the_previous_hash() -> None:
    """Mutation caught: ``row_hash`` leaving ``prev_hash`` out of the hashed body."""
    row = dict(project="p", seq=2, at="t", event="e", item_id="i", run_id="r", actor="a",
               payload="{}")  # fmt: skip
    assert row_hash(**row, prev_hash="a" * 64) != row_hash(**row, prev_hash="b" * 64)
    base = row_hash(**row, prev_hash="a" * 64)
    for key in row:  # and every other column
        changed = {**row, key: 3 if key == "seq" else "x"}
        assert row_hash(**changed, prev_hash="a" * 64) != base, key


# --- (e): verify checks the SHA-256 of committed table and export files ---------------------


@pytest.mark.parametrize("kind", ["table", "export"])
def test_e_verify_sees_a_modified_committed_file(project: ProjectSpec, kind: str) -> None:
    """Mutation caught: ``verify_project`` checking only that committed files exist, not
    their SHA-256."""
    ledger = Ledger.for_project(project)
    target = project.project_dir / "exports" / f"{kind}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text("item_id,label\nabc,a\n")
    commit_file(ledger, tmp, target, f"{kind}:1", lambda _: [], None, kind=kind)
    assert verify_project(project, ledger).ok
    target.write_text("item_id,label\nabc,b\n")  # same size, other content
    result = verify_project(project, ledger)
    assert not result.ok
    assert any("SHA-256 differs" in p and target.name in p for p in result.problems)


# --- (f), (g): four-eyes reads both evidence sources ----------------------------------------


@dataclass
class _FakeSet:
    frame: pd.DataFrame

    def item_ids(self) -> set[str]:
        return set(self.frame["item_id"])

    def labels(self) -> pd.DataFrame:
        return self.frame


@dataclass
class _Event:
    item_id: str
    actor: str | None
    payload: dict[str, Any] = field(default_factory=dict)


class _FakeLedger:
    def __init__(self, events: list[_Event]) -> None:
        self._events = events

    def events(self, *, event: str) -> list[_Event]:
        assert event == REVIEW_DECISION
        return self._events


LABELS = pd.DataFrame(
    {"item_id": ["i1", "i2", "i3"], "reviewer": ["alice", None, None], "label": "a"}
)


def test_f_four_eyes_reads_the_ledger_review_rows() -> None:
    """Mutation caught: ``reviewers_of`` ignoring the ledger's ``review_decision`` rows (a
    reviewer whose name the label set does not carry, e.g. a review later overridden)."""
    ledger = _FakeLedger([_Event("i2", "bob"), _Event("i3", None, {"reviewer": "carol"})])
    found = reviewers_of(_FakeSet(LABELS), ledger)  # type: ignore[arg-type]
    assert found.get("bob") == 1 and found.get("carol") == 1


def test_g_four_eyes_reads_the_label_set_reviewer_column() -> None:
    """Mutation caught: ``reviewers_of`` ignoring the label set's ``reviewer`` column (a
    review imported before the ledger recorded reviews)."""
    found = reviewers_of(_FakeSet(LABELS), _FakeLedger([]))  # type: ignore[arg-type]
    assert found == {"alice": 1}


# --- (h): the drift baseline is the approved set --------------------------------------------


class _Store:
    def __init__(self, spec: ProjectSpec) -> None:
        self.first, self.second = spec.class_names[:2]

    def latest(self, *, status: str | None = "approved") -> _FakeSet:
        if status == "approved":  # the approved set: all of the first class
            return _FakeSet(pd.DataFrame({"item_id": ["x"] * 50, "label": self.first}))
        return _FakeSet(pd.DataFrame({"item_id": ["y"] * 50, "label": self.second}))  # a draft


def test_h_drift_baseline_is_the_approved_set(
    project: ProjectSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mutation caught: ``batch_drift`` comparing with the newest label set (a draft) instead
    of the latest approved one."""
    monkeypatch.setattr(monitor, "LabelSetStore", _Store)
    first = project.class_names[0]
    batch = pd.DataFrame({"label": [first] * 50, "confidence": 0.9})
    result = monitor.batch_drift(project, batch)
    assert result.baseline_distribution[first] == 1.0
    assert result.passed


# --- (i): image promotion needs the margin --------------------------------------------------


def _detection_spec(tmp_path: Path, margin: float) -> ProjectSpec:
    (tmp_path / "inbox").mkdir()
    return write_detection_project(
        tmp_path,
        name="pills",
        classes={"pill": "a pill"},
        labelers=[{"type": "yolo", "path": "teacher.pt"}],
        training={"promotion_margin": margin, "min_eval_items": 1},
    )


def _scores(map50: float) -> DetectionScores:
    return DetectionScores(images=10, map50=map50, map50_95=map50 / 2, mean_iou=0.8,
                           exact_images=5)  # fmt: skip


@pytest.mark.parametrize(("challenger", "promote"), [(0.804, False), (0.806, True)])
def test_i_image_promotion_needs_the_margin(
    tmp_path: Path, challenger: float, promote: bool
) -> None:
    """Mutation caught: ``decide_student`` promoting on ``score >= best`` (no margin)."""
    spec = _detection_spec(tmp_path, margin=0.005)
    card = ModelCard(
        model_id="v1-yolo-aaaa", project="pills", method="yolo", label_set_version=1,
        label_set_hash="h", hyperparameters={}, encoder="yolov8n.yaml", classes=["pill"],
        n_train=20, n_train_human=20, n_eval=10, metrics={}, training_seconds=1.0,
        trained_at="2026-01-01T00:00:00+00:00", fingerprint="f",
    )  # fmt: skip
    ModelRegistry(spec).add(card, lambda folder: None)
    evaluation = ImageEvaluation(
        card, _scores(challenger), "teacher", "yolo", _scores(0.8), "s", 10
    )
    decision = decide_student(spec, evaluation)
    assert decision.promote is promote
    assert (ModelRegistry(spec).champion() is not None) is promote


def test_split_box_set_holds_out_human_items_of_the_bucket(tmp_path: Path) -> None:
    """``split_box_set``: evaluation = human items in the fixed bucket; train = outside it."""
    spec = _detection_spec(tmp_path, margin=0.005)
    n = 400
    labels = pd.DataFrame(
        {
            "item_id": [f"{i:016x}" for i in range(n)],
            "boxes": [[_box(0.1)]] * n,
            "source": np.where(np.arange(n) % 2 == 0, "human", "auto"),
        }
    )
    train, evaluation = split_box_set(spec, labels)
    assert not set(train["item_id"]) & set(evaluation["item_id"])
    assert (evaluation["source"] == "human").all() and len(evaluation) > 0
    held_out = n - len(train)
    assert len(evaluation) < held_out  # auto items of the bucket are in neither
    fraction = spec.training.eval_fraction  # type: ignore[union-attr]
    assert abs(held_out / n - fraction) < 0.08
    again, _ = split_box_set(spec, labels.sample(frac=1.0, random_state=0))
    assert set(again["item_id"]) == set(train["item_id"])  # fixed by item id, not order


# --- (j), (k): erasure reaches the review-queue files and the caches ------------------------


def test_jk_erasure_empties_queue_files_and_caches(project: ProjectSpec) -> None:
    """Mutations caught: ``erase_item`` skipping ``review_queue.csv`` or
    ``label_studio_tasks.json`` (j), or the embedding / score caches (k)."""
    gone, kept = "a" * 16, "b" * 16
    ledger = Ledger.for_project(project)
    for item in (gone, kept):
        ledger.append(ITEM_INGESTED, {"source_file": "f"}, item_id=item)
    queue = ProjectData(project).queue_dir
    queue.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"item_id": [gone, kept], "text": ["secret", "fine"]}).to_csv(
        queue / "review_queue.csv", index=False
    )
    tasks = [{"data": {"item_id": item, "text": "t"}} for item in (gone, kept)]
    (queue / "label_studio_tasks.json").write_text(pd.Series(tasks).to_json(orient="values"))
    from labelgate.build import embedding_cache_path

    caches = [embedding_cache_path(project), project.project_dir / "models" / "scores.sqlite"]
    for path in caches:
        path.parent.mkdir(parents=True, exist_ok=True)
        EmbeddingCache(path).put("v1", [gone, kept], np.ones((2, 4), dtype=np.float32))

    erase_item(project, gone, reason="request 7")

    for name in ("review_queue.csv", "label_studio_tasks.json"):
        text = (queue / name).read_text()
        assert gone not in text and kept in text, name
    for path in caches:
        with sqlite3.connect(path) as conn:
            tables = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            ids = {r[0] for t in tables for r in conn.execute(f'SELECT item_id FROM "{t}"')}
        assert gone not in ids and kept in ids, path


def test_b_detection_acceptance_leaves_out_images_the_champion_trained_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mutation caught: ``accept_detections`` passing no (or the wrong) in-sample images to the
    gate, so a student's training images would count as calibration evidence."""
    from labelgate.images import acceptance

    n = 120
    ids = [f"c{i}" for i in range(n)]
    right = [_box(0.1, confidence=0.9), _box(0.5, confidence=0.9)]
    auto = pd.DataFrame(
        {"item_id": ids, "boxes": [right] * n, "n_boxes": 2, "confidence": 0.9,
         "max_dropped_confidence": 0.0, "labeler_versions": "{}"}
    )  # fmt: skip
    reviewed = pd.DataFrame(
        {"item_id": ids, "boxes": [right] * n, "purpose": "calibration", "reviewer": "alice"}
    )
    trained_on = set(ids[:40])
    monkeypatch.setattr(acceptance, "in_sample_items", lambda spec, auto_labels: trained_on)
    done = acceptance.accept_detections(_detection_spec(tmp_path, 0.0), auto, reviewed, "run-1")
    assert done.in_sample_left_out == 40
    assert done.result.n_calibration == n - 40
