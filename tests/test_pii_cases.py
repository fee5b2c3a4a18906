"""The PII misses and false alarms found by trying hostile and real text (issue 12 item 9)."""

import pytest

from labelgate.pii import find_pii, redact_text


def found(text: str) -> list[tuple[str, str]]:
    return [(f.kind, text[f.start : f.end]) for f in find_pii(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111.1111.1111.1111 was declined", [("CARD_NUMBER", "4111.1111.1111.1111")]),
        ("mail john dot smith at example dot com today",
         [("EMAIL", "john dot smith at example dot com")]),
        ("write to ann.lee(at)example(dot)co(dot)uk",
         [("EMAIL", "ann.lee(at)example(dot)co(dot)uk")]),
        ("j_smith [at] example [dot] org please", [("EMAIL", "j_smith [at] example [dot] org")]),
        ("IBAN: BE68 5390 0754 7034 was used", [("IBAN", "BE68 5390 0754 7034")]),
        ("GB82-WEST-1234-5698-7654-32", [("IBAN", "GB82-WEST-1234-5698-7654-32")]),
        ("to NL91ABNA0417164300 today", [("IBAN", "NL91ABNA0417164300")]),
        ("I was born on 3 March 1985.", [("DATE_OF_BIRTH", "3 March 1985")]),
        ("My date of birth is 12/03/1985.", [("DATE_OF_BIRTH", "12/03/1985")]),
        ("1985-03-12 is my birthday", [("DATE_OF_BIRTH", "1985-03-12")]),
    ],
)  # fmt: skip
def test_found_whole(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("IBAN: BE68 5390 0754 7034 was used", "IBAN: [IBAN] was used"),
        ("GB82-WEST-1234-5698-7654-32", "[IBAN]"),
        ("card 4111.1111.1111.1111 lost", "card [CARD_NUMBER] lost"),
        ("john dot smith at example dot com", "[EMAIL]"),
    ],
)
def test_redacted_whole(text: str, redacted: str) -> None:
    assert redact_text(text)[0] == redacted


@pytest.mark.parametrize(
    "text",
    [
        "+1-555-0100 fee question",
        "Helsinki 3 March 2008 - Finnish company Lemminkainen Oyj said it won a contract",
        "the union called a two-day strike that would begin on 14 May",
        "Shares fell 3% on 12 January 2009 after the profit warning",
        "The deal, signed on June 5, 2007, values the unit at EUR 1.2 billion",
        "I bought it at amazon dot com last week",
        "Order 4111111111111112 shipped",  # fails the Luhn check
        "invoice 0123456789 is overdue",
        "SKU 4006381333931 is out of stock",
        "Thanks, Customer Service",
        "card 4539 1488 0343 6468 fails the Luhn check",
        "I was charged £1,800.00 twice, ref APP-123456 and LN/2024/123456",
        "This is urgent, I am locked out of my account",
        "the payment on 12/03/2025 was not mine",
        "best number to reach me is [PHONE] Regards👍",
    ],
)
def test_not_pii(text: str) -> None:
    assert find_pii(text) == []


def test_hostile_text_is_scanned_in_linear_time() -> None:
    """20,000 characters built to make the email patterns backtrack from every position
    (quadratic: seconds per text) are scanned in well under a second each."""
    import time

    texts = ["a." * 10_000 + " at", "x dot " * 4_000 + "at y dot", "12-" * 7_000,
             "a(dot)" * 4_000 + "(at)b(dot)"]  # fmt: skip
    start = time.perf_counter()
    for text in texts:
        find_pii(text)
    assert time.perf_counter() - start < 2.0
