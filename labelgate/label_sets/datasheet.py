"""The datasheet of a label set: Markdown generated from its manifest."""

from typing import Any


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("-" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def render_datasheet(manifest: dict[str, Any]) -> str:
    gate = manifest.get("gate") or {}
    counts = manifest.get("counts_per_class", {})
    sources = manifest.get("sources", {})
    accuracy = manifest.get("per_class_accuracy", [])
    checks = manifest.get("quality_checks", {})
    threshold = gate.get("threshold")
    conf = gate.get("confidence_level", 0.95)
    boxes = manifest.get("unit") == "boxes"
    unit = "boxes" if boxes else "items"
    parts = [
        f"# Datasheet: label set {manifest['project']} v{manifest['version']}",
        "",
        f"Created {manifest['created_at']} by run `{manifest.get('run_id')}`. "
        f"Content SHA-256 `{manifest['content_sha256']}`.",
        "",
        "## What it contains",
        "",
        _contents(manifest, len(counts), sources),
        "",
        _table(["class", unit], [[k, v] for k, v in counts.items()]),
        "",
        "## How it was made",
        "",
        f"- Project file `{manifest['project_file']['path']}` "
        f"(SHA-256 `{manifest['project_file']['sha256']}`).",
        "- Labelers and versions: "
        + (
            ", ".join(
                f"`{k}` {', '.join(map(str, v)) if isinstance(v, list) else v}"
                for k, v in manifest.get("labeler_versions", {}).items()
            )
            or "-"
        )
        + ".",
        (
            "- Label model: weighted box fusion over the detectors (`auto_labels`)."
            if boxes
            else "- Label model: Dawid–Skene / product of experts over the labelers "
            "(`auto_labels`)."
        ),
        _box_gate_line(gate)
        if gate.get("criterion") == "box"
        else f"- Gate: target accuracy {_pct(gate.get('target'))} at {conf:.0%} confidence; "
        + (
            "nothing auto-accepted"
            if threshold is None
            else f"threshold {threshold:.4f}, chosen on {gate.get('n_calibration')} reviewed "
            f"random calibration items ({gate.get('n_accepted')} at or above it, observed "
            f"accuracy {_pct(gate.get('accuracy'))}, one-sided lower bound "
            f"{_pct(gate.get('lower_bound'))})"
        )
        + ".",
        f"- Reviewers: {', '.join(manifest.get('reviewers', [])) or 'none'}.",
        f"- Quality checks: {', '.join(f'{k}: {v}' for k, v in checks.items()) or 'none run'}.",
        f"- Items erased on request (left out): {manifest.get('erased_excluded', 0)}.",
        "",
        *(_detection_section(manifest) if boxes else _accuracy_section(accuracy, threshold, conf)),
        "## Known limits",
        "",
        "- The accuracy guarantee covers the auto-accepted labels as a whole; per-class bounds "
        "rest on few reviews each and are wide where a class is rare.",
        "- Human labels are taken as correct; reviewer error is not estimated (two reviewers "
        "per item would be needed for that).",
        "- The calibration sample is drawn from the items seen so far; data that drifts away "
        "from it is not covered until it is reviewed.",
        "- Keyword rules and zero-shot similarity reflect the class descriptions in the "
        "project file; classes missing there cannot be found.",
        "",
    ]
    return "\n".join(parts)


def _contents(manifest: dict[str, Any], n_classes: int, sources: dict[str, int]) -> str:
    decided = (
        f"{sources.get('human', 0)} decided by a human reviewer, {sources.get('auto', 0)} "
        "auto-accepted by the statistical gate."
    )
    if manifest.get("unit") == "boxes":
        return (
            f"{manifest['rows']} images, each with its box set over {n_classes} classes: "
            f"{decided} Image files are not part of the set; they are joined from the raw "
            "items when exported (e.g. as a YOLO dataset)."
        )
    return (
        f"{manifest['rows']} items, each with one label out of {n_classes} classes: {decided} "
        "Text is not part of the set; it is joined from the raw items when exported (with "
        "PII redaction)."
    )


def _box_gate_line(gate: dict[str, Any]) -> str:
    """The box-level detection gate (labelgate.images.box_gate) in one line."""
    conf = gate.get("confidence_level", 0.95)
    line = (
        f"- Gate (box level): box precision >= {_pct(gate.get('target'))} and recall >= "
        f"{_pct(gate.get('target_recall'))} at {conf:.0%} confidence; "
    )
    if gate.get("threshold") is None or gate.get("miss_threshold") is None:
        return line + "nothing auto-accepted."
    return line + (
        f"images auto-accepted when every box has confidence >= {gate['threshold']:.4f} and "
        f"no dropped candidate box is above {gate['miss_threshold']:.4f}; on "
        f"{gate.get('n_accepted')} of {gate.get('n_calibration')} reviewed random calibration "
        f"images so chosen: box precision {_pct(gate.get('accuracy'))} (lower bound "
        f"{_pct(gate.get('lower_bound'))}), recall {_pct(gate.get('recall'))} (lower bound "
        f"{_pct(gate.get('recall_lower_bound'))}), bounds counting effective boxes (images "
        "as clusters)."
    )


def _detection_section(manifest: dict[str, Any]) -> list[str]:
    """Detection sets: the gate's evidence (exactly-right images) and the auto-labels'
    scores against every reviewed image, instead of per-class accuracy."""
    evidence = manifest.get("detection_evidence") or {}
    scores = evidence.get("scores_against_reviews") or {}
    return [
        "## Detection gate evidence",
        "",
        "A box is correct when it matches a reviewed box of the same class at IoU >= 0.5; an "
        "auto-labelled image is exactly right when every box does, with nothing extra or "
        "missing (the `exact` gate criterion counts those).",
        "",
        _table(
            ["measure", "value"],
            [
                ["calibration images", evidence.get("calibration_images")],
                ["exactly right", evidence.get("calibration_exact")],
                ["auto-labels vs all reviews: images", scores.get("images")],
                ["mAP50", scores.get("map50")],
                ["mAP50-95", scores.get("map50_95")],
                ["mean IoU", scores.get("mean_iou")],
            ],
        ),
        "",
    ]


def _accuracy_section(
    accuracy: list[dict[str, Any]], threshold: float | None, conf: float
) -> list[str]:
    return [
        "## Per-class accuracy of the auto-accepted labels",
        "",
        (
            "Calibration items at or above the threshold"
            if threshold is not None
            else "No label is auto-accepted yet; shown: every reviewed calibration item"
        )
        + f", by predicted class, with two-sided {conf:.0%} Clopper–Pearson bounds.",
        "",
        _table(
            ["class", "calibration items", "correct", "accuracy", "lower", "upper"],
            [
                [
                    r["class"],
                    r["calibration_items"],
                    r["correct"],
                    _pct(r["accuracy"]),
                    _pct(r["lower"]),
                    _pct(r["upper"]),
                ]
                for r in accuracy
            ],
        ),
        "",
    ]
