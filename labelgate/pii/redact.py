"""Redact or refuse text that leaves the system, per the project's ``governance.pii``."""

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from labelgate.errors import LabelgateError
from labelgate.pii.recognizers import find_pii


class PIIRefused(LabelgateError):
    """Text with personal data was about to leave and the project refuses that."""


@dataclass
class RedactionReport:
    """What was found (and, when redacting, replaced), by type; ``texts`` affected."""

    counts: Counter = field(default_factory=Counter)
    texts: int = 0

    def add(self, other: "RedactionReport") -> None:
        self.counts.update(other.counts)
        self.texts += other.texts

    def as_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in sorted(self.counts.items())}

    @property
    def total(self) -> int:
        return int(sum(self.counts.values()))


MAX_REDACTION_PASSES = 4


def redact_text(text: str) -> tuple[str, Counter]:
    """``text`` with each finding replaced by ``[TYPE]``, and the counts by type.

    Redaction repeats until the detector finds nothing more: replacing one finding can expose
    another (``"Phone: +44 7700 900123 Grace"`` -> ``"Phone: [PHONE] Grace"`` now reads as a
    sign-off name), and the export check scans with the same detector, so text that passed
    redaction must pass the check.
    """
    counts: Counter = Counter()
    for _ in range(MAX_REDACTION_PASSES):
        findings = find_pii(text)
        if not findings:
            break
        counts.update(f.kind for f in findings)
        for finding in reversed(findings):
            text = f"{text[: finding.start]}[{finding.kind}]{text[finding.end :]}"
    return text, counts


def scan_texts(texts: pd.Series) -> RedactionReport:
    """Count PII by type without changing anything."""
    report = RedactionReport()
    for text in texts.fillna("").astype(str):
        found = find_pii(text)
        if found:
            report.counts.update(f.kind for f in found)
            report.texts += 1
    return report


def redact_column(frame: pd.DataFrame, column: str) -> tuple[pd.DataFrame, RedactionReport]:
    report = RedactionReport()
    out = []
    for text in frame[column].fillna("").astype(str):
        redacted, counts = redact_text(text)
        if counts:
            report.counts.update(counts)
            report.texts += 1
        out.append(redacted)
    return frame.assign(**{column: out}), report


def apply_pii_policy(
    frame: pd.DataFrame, column: str, policy: str, *, what: str
) -> tuple[pd.DataFrame, RedactionReport]:
    """``redact``: replace PII in ``column``; ``refuse``: raise if there is any; ``off``:
    pass through (the report still counts what is there)."""
    if policy == "redact":
        return redact_column(frame, column)
    report = scan_texts(frame[column])
    if policy == "refuse" and report.total:
        raise PIIRefused(
            f"{what} refused: {report.texts} text(s) contain personal data "
            f"{report.as_dict()} and governance.pii is 'refuse' (set it to 'redact' to "
            "export them redacted)"
        )
    if policy not in ("refuse", "off"):
        raise ValueError(f"unknown PII policy {policy!r}")
    return frame, report
