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
    parts = [
        f"# Datasheet: label set {manifest['project']} v{manifest['version']}",
        "",
        f"Created {manifest['created_at']} by run `{manifest.get('run_id')}`. "
        f"Content SHA-256 `{manifest['content_sha256']}`.",
        "",
        "## What it contains",
        "",
        f"{manifest['rows']} items, each with one label out of {len(counts)} classes: "
        f"{sources.get('human', 0)} decided by a human reviewer, {sources.get('auto', 0)} "
        "auto-accepted by the statistical gate. Text is not part of the set; it is joined "
        "from the raw items when exported (with PII redaction).",
        "",
        _table(["class", "items"], [[k, v] for k, v in counts.items()]),
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
        "- Label model: Dawid–Skene / product of experts over the labelers (`auto_labels`).",
        f"- Gate: target accuracy {_pct(gate.get('target'))} at {conf:.0%} confidence; "
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
