"""Release of an approved image label set: box sets as COCO or Label Studio JSON, class
labels as CSV, each file committed with its ``export_made`` ledger row (like text releases,
without a text column to PII-gate: the files name images by path)."""

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from labelgate.governance.export import EXPORT_KIND, ExportResult, approved_label_set
from labelgate.ids import sha256_file
from labelgate.images.export import export_accepted
from labelgate.images.project import image_project_data
from labelgate.ledger import Ledger, LedgerRow
from labelgate.ledger.commit import commit_file
from labelgate.ledger.events import EXPORT_MADE
from labelgate.pii import RedactionReport

if TYPE_CHECKING:
    from labelgate.spec import ProjectSpec

ImageReleaseFormat = Literal["coco", "labelstudio", "csv"]
BOX_FORMATS = ("coco", "labelstudio")


def release_image_label_set(
    spec: "ProjectSpec",
    *,
    fmt: ImageReleaseFormat = "coco",
    out_dir: Path | None = None,
    run_id: str | None = None,
) -> ExportResult:
    """Write the latest approved, intact label set of an image project; ``ReleaseRefused``
    when there is none. Detection sets: ``coco`` or ``labelstudio``; classification: ``csv``."""
    label_set, created = approved_label_set(spec)
    data = image_project_data(spec)
    labels = label_set.labels()
    erased = Ledger.for_project(spec).erased_items()
    labels = labels[~labels["item_id"].isin(erased)].reset_index(drop=True)
    detection = "boxes" in labels.columns
    allowed = BOX_FORMATS if detection else ("csv",)
    if fmt not in allowed:
        kind = "box" if detection else "class-label"
        raise ValueError(f"a {kind} label set is released as {' or '.join(allowed)}, not {fmt}")
    out = Path(out_dir or spec.project_dir / "exports")
    out.mkdir(parents=True, exist_ok=True)
    name = f"{spec.name}_label_set_v{label_set.version}"
    items = data.image_items()
    with tempfile.TemporaryDirectory(prefix=".export-", dir=out) as staging:
        if detection:
            classes = spec.class_names
            written = export_accepted(labels, items, classes, fmt, Path(staging), name=name)
        else:
            written = Path(staging) / f"{name}.csv"
            frame = labels[["item_id", "label", "source", "confidence", "reviewer"]].merge(
                items[["item_id", "path"]], on="item_id", how="left"
            )
            frame.to_csv(written, index=False)
        target = out / written.name
        payload = {
            "what": f"release of label set v{label_set.version}",
            "path": str(target),
            "format": fmt,
            "rows": len(labels),
            "erased_excluded": len(erased),
            "label_set_version": label_set.version,
            "content_sha256": created.payload["content_sha256"],
        }

        def rows(path: Path) -> list[LedgerRow]:
            return [(EXPORT_MADE, {**payload, "sha256": sha256_file(path)}, None)]

        commit_file(
            Ledger.for_project(spec), written, target, str(target), rows, run_id, kind=EXPORT_KIND
        )
    return ExportResult(target, len(labels), RedactionReport(), label_set)
