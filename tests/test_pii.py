"""The PII gate: recognizers with their checksums, redaction, refusal, and the demo corpus's
fake personal data (recorded as the generator makes it) never surviving redaction."""

from collections import defaultdict
from collections.abc import Iterator

import pandas as pd
import pytest

from labelgate.pii import (
    PIIRefused,
    apply_pii_policy,
    find_pii,
    iban_valid,
    luhn_valid,
    redact_text,
)
from labelgate.synth import bank_messages
from labelgate.text import normalize_text

STRUCTURED_SLOTS = ("email", "phone", "card_number", "iban", "ssn", "dob")


def test_checksums() -> None:
    assert luhn_valid("4539148803436467") and not luhn_valid("4539148803436468")
    assert luhn_valid("378282246310005")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and iban_valid("gb82west12345698765432")
    assert not iban_valid("GB82 WEST 1234 5698 7654 33")
    assert not iban_valid("GB82")


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("write to Jane.Doe+bank@example.co.uk today", "EMAIL", "Jane.Doe+bank@example.co.uk"),
        ("call me on 07700 900123 please", "PHONE", "07700 900123"),
        ("or +44 (0)7700 900456.", "PHONE", "+44 (0)7700 900456"),
        ("US: (212) 555-0123", "PHONE", "(212) 555-0123"),
        ("card 4539-1488-0343-6467 lost", "CARD_NUMBER", "4539-1488-0343-6467"),
        ("amex 3782 822463 10005", "CARD_NUMBER", "3782 822463 10005"),
        ("IBAN DE89 3704 0044 0532 0130 00 ok", "IBAN", "DE89 3704 0044 0532 0130 00"),
        ("SSN: 123-45-6789", "US_SSN", "123-45-6789"),
        ("my ssn is 123456789", "US_SSN", "123456789"),
        ("I was born on 3 March 1985.", "DATE_OF_BIRTH", "3 March 1985"),
        ("DOB: 1985-03-12", "DATE_OF_BIRTH", "1985-03-12"),
        ("My name is Ana López and I need help", "PERSON_NAME", "Ana López"),
        ("Account holder: Wei Okafor", "PERSON_NAME", "Wei Okafor"),
        ("Please help. Thanks, Maria Garcia", "PERSON_NAME", "Maria Garcia"),
    ],
)
def test_recognizers_find(text: str, kind: str, value: str) -> None:
    found = [(f.kind, text[f.start : f.end]) for f in find_pii(text)]
    assert (kind, value) in found


def test_bad_iban_checksum_is_not_an_iban() -> None:
    kinds = {f.kind for f in find_pii("IBAN GB82 WEST 1234 5698 7654 33 has a bad checksum")}
    assert "IBAN" not in kinds
    assert "US_SSN" not in {f.kind for f in find_pii("area 666 is never issued: 666-12-3456")}


def test_redact_and_refuse() -> None:
    text, counts = redact_text("Mail a.b@example.com, card 4539148803436467.")
    assert text == "Mail [EMAIL], card [CARD_NUMBER]."
    assert dict(counts) == {"EMAIL": 1, "CARD_NUMBER": 1}
    frame = pd.DataFrame({"item_id": ["1", "2"], "text": ["call 07700 900123", "no pii here"]})
    redacted, report = apply_pii_policy(frame, "text", "redact", what="export")
    assert list(redacted["text"]) == ["call [PHONE]", "no pii here"]
    assert report.as_dict() == {"PHONE": 1} and report.texts == 1
    with pytest.raises(PIIRefused, match=r"export refused: 1 text\(s\).*PHONE"):
        apply_pii_policy(frame, "text", "refuse", what="export")
    untouched, counted = apply_pii_policy(frame, "text", "off", what="export")
    assert untouched.equals(frame) and counted.total == 1


def record_generated_pii(monkeypatch: pytest.MonkeyPatch) -> dict[str, set[str]]:
    """Record every fake PII value the synthetic generator puts into messages."""
    recorded: dict[str, set[str]] = defaultdict(set)
    original = bank_messages._Filler._value

    def value(self: object, slot: str) -> str:
        filled = original(self, slot)  # type: ignore[arg-type]
        if slot in (*STRUCTURED_SLOTS, "full_name"):
            recorded[slot].add(filled)
        return filled

    monkeypatch.setattr(bank_messages._Filler, "_value", value)
    return recorded


def surviving(recorded: dict[str, set[str]], texts: Iterator[str]) -> dict[str, list[str]]:
    """Recorded values still present (case-insensitively) in ``texts``."""
    blob = "\n".join(t.lower() for t in texts)
    return {
        slot: [v for v in values if normalize_text(v).lower() in blob]
        for slot, values in recorded.items()
    }


def test_demo_corpus_pii_does_not_survive_redaction(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = record_generated_pii(monkeypatch)
    messages = bank_messages.generate_messages(2000, seed=11)
    assert all(len(recorded[slot]) > 20 for slot in STRUCTURED_SLOTS)
    redacted = (redact_text(normalize_text(t))[0] for t in messages["text"])
    left = surviving(recorded, redacted)
    for slot in STRUCTURED_SLOTS:
        assert left[slot] == [], f"{slot} survived redaction: {left[slot][:5]}"
    # Names have no checksum; those after a cue or in a sign-off are found.
    assert len(left["full_name"]) <= 0.05 * len(recorded["full_name"])


def test_redacted_text_passes_the_export_check() -> None:
    """Redacting one finding can expose another; redaction repeats until the export check's
    detector finds nothing, so a redacted export never fails that check."""
    text = "Can I change my address online? Phone: +44 7700 900123 Grace"
    redacted, counts = redact_text(text)
    assert "Grace" not in redacted and "7700" not in redacted
    assert counts == {"PHONE": 1, "PERSON_NAME": 1}
    assert find_pii(redacted) == []
    messages = bank_messages.generate_messages(1500, seed=5)
    leaks = [
        r for r in (redact_text(normalize_text(t))[0] for t in messages["text"]) if find_pii(r)
    ]
    assert leaks == []
