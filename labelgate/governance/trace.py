"""Lineage of one item, read from the ledger: where it came from, every label proposed for
it, every review, the threshold that admitted it, the label-set versions that hold it and
the models trained on those, and its erasure."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labelgate.errors import LabelgateError
from labelgate.label_sets import LabelSetStore
from labelgate.ledger import Ledger, LedgerEvent
from labelgate.ledger.events import (
    ITEM_ERASED,
    ITEM_INGESTED,
    LABEL_PROPOSED,
    MODEL_MARKED_STALE,
    MODEL_TRAINED,
    REVIEW_DECISION,
    THRESHOLD_CHOSEN,
)

if TYPE_CHECKING:
    from labelgate.spec import ProjectSpec


class UnknownItem(LabelgateError):
    """The ledger has no row about this item."""


@dataclass
class ItemTrace:
    item_id: str
    events: list[LedgerEvent] = field(default_factory=list)
    thresholds: list[LedgerEvent] = field(default_factory=list)
    label_sets: list[dict[str, Any]] = field(default_factory=list)
    models: list[LedgerEvent] = field(default_factory=list)

    @property
    def erased(self) -> bool:
        return any(e.event == ITEM_ERASED for e in self.events)

    def of(self, event: str) -> list[LedgerEvent]:
        return [e for e in self.events if e.event == event]


def _label_of(row: Any) -> str:
    """A class label, or for a box set the classes of its boxes."""
    boxes = getattr(row, "boxes", None)
    if boxes is None:
        return str(row.label)
    names = sorted(str(box["label"]) for box in boxes)
    return f"{len(names)} box(es): {', '.join(names) or 'none'}"


def trace_item(spec: "ProjectSpec", item_id: str, ledger: Ledger | None = None) -> ItemTrace:
    ledger = ledger or Ledger.for_project(spec)
    trace = ItemTrace(item_id, events=ledger.events(item_id=item_id))
    if not trace.events:
        raise UnknownItem(f"the ledger of project {spec.name} has no row about item {item_id!r}")
    admitting_runs: set[str] = set()
    versions: set[int] = set()
    for label_set in LabelSetStore(spec, ledger).versions():
        if not label_set.labels_path.is_file():
            continue
        labels = label_set.labels()
        rows = labels[labels["item_id"] == item_id]
        for row in rows.itertuples(index=False):
            versions.add(label_set.version)
            trace.label_sets.append(
                {
                    "version": label_set.version,
                    "status": label_set.status,
                    "label": _label_of(row),
                    "source": row.source,
                    "confidence": float(row.confidence),
                    "reviewer": row.reviewer if isinstance(row.reviewer, str) else None,
                    "run_id": row.run_id,
                }
            )
            if row.source == "auto":
                admitting_runs.add(row.run_id)
    trace.thresholds = [
        e for e in ledger.events(event=THRESHOLD_CHOSEN) if e.run_id in admitting_runs
    ]
    trace.models = [
        e
        for e in ledger.events(event=[MODEL_TRAINED, MODEL_MARKED_STALE])
        if e.payload.get("label_set_version") in versions
        or (e.event == MODEL_MARKED_STALE and e.item_id == item_id)
    ]
    return trace


def _label_of(row: Any) -> str:
    """A label-set row's label: the class, or a box set's summary (detection sets)."""
    if hasattr(row, "label"):
        return str(row.label)
    from labelgate.images.label_sets import box_summary  # images import the governance code

    return box_summary(row.boxes)


def describe(event: LedgerEvent) -> str:
    """One line a data steward can read."""
    p = event.payload
    if event.event == ITEM_INGESTED:
        return (
            f"ingested from {p['source_file']} row {p['source_row']} "
            f"(file SHA-256 {p['source_sha256'][:16]}…, batch {p['batch']})"
        )
    if event.event == LABEL_PROPOSED and "boxes" in p:  # a detector's box set
        error = f"; failed: {p['error']}" if p.get("error") else ""
        return f"{p['labeler']} {p['labeler_version']} proposed {p['label']}{error}"
    if event.event == LABEL_PROPOSED:
        label = p["label"] if p["label"] is not None else "(abstained)"
        probs = ", ".join(f"{x:.3f}" for x in p.get("probs", []))
        return (
            f"{p['labeler']} {p['labeler_version']} proposed {label} "
            f"(confidence {p['confidence']}; probs [{probs}])"
        )
    if event.event == REVIEW_DECISION:
        return (
            f"{p['reviewer']} reviewed: {p['label']} ({p['purpose']}, file "
            f"{p['review_file']} {p['review_file_sha256'][:12]}…)"
        )
    if event.event == THRESHOLD_CHOSEN and p.get("criterion") == "box":
        return _describe_box_gate(p)
    if event.event == THRESHOLD_CHOSEN:
        threshold = p.get("threshold")
        shown = "none" if threshold is None else f"{threshold:.4f}"
        return (
            f"gate threshold {shown}: {p.get('n_accepted')} of {p.get('n_calibration')} "
            f"calibration reviews above it, accuracy {p.get('accuracy')}, lower bound "
            f"{p.get('lower_bound')} vs target {p.get('target')}"
        )
    if event.event == ITEM_ERASED:
        return f"erased: {p['reason']} (removed from {len(p.get('removed', {}))} places)"
    if event.event == MODEL_TRAINED:
        return (
            f"model {p.get('model_id')} trained on label set v{p.get('label_set_version')} "
            f"(accuracy {p.get('accuracy')})"
        )
    if event.event == MODEL_MARKED_STALE:
        return f"model {p.get('model_id')} marked stale: {p.get('reason')}"
    return ", ".join(f"{k}={v}" for k, v in sorted(p.items()))


def _describe_box_gate(p: dict[str, Any]) -> str:
    """The box-level detection gate's threshold row (labelgate.images.box_gate)."""

    def shown(value: float | None) -> str:
        return "none" if value is None else f"{value:.4f}"

    return (
        f"gate box threshold {shown(p.get('threshold'))}, miss threshold "
        f"{shown(p.get('miss_threshold'))}: {p.get('n_accepted')} of {p.get('n_calibration')} "
        f"calibration images accepted, box precision {p.get('accuracy')} (lower bound "
        f"{p.get('lower_bound')} vs target {p.get('target')}), recall {p.get('recall')} "
        f"(lower bound {p.get('recall_lower_bound')} vs target {p.get('target_recall')})"
    )
