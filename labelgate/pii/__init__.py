"""The PII gate: find personal data in text and redact it (or refuse) before it leaves."""

from labelgate.pii.recognizers import PII_TYPES, Finding, find_pii, iban_valid, luhn_valid
from labelgate.pii.redact import (
    PIIRefused,
    RedactionReport,
    apply_pii_policy,
    redact_column,
    redact_text,
    scan_texts,
)

__all__ = [
    "PII_TYPES",
    "Finding",
    "PIIRefused",
    "RedactionReport",
    "apply_pii_policy",
    "find_pii",
    "iban_valid",
    "luhn_valid",
    "redact_column",
    "redact_text",
    "scan_texts",
]
