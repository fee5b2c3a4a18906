"""Pattern recognizers for personal data in free text, with checksum validation.

Why our own and not presidio or scrubadub: presidio-analyzer's pattern recognizers were
tried here without spaCy models. Its email recognizer calls tldextract, which fetches the
public suffix list over the network at first use (nothing may be downloaded at run time),
its US SSN recognizer rejected common SSN shapes, its phone recognizer (US region) missed
UK numbers, and the package pulls in spaCy and its compiled dependencies for recognizers
that are a few regular expressions. scrubadub depends on the same kind of NLP stack and is
unmaintained since 2022. So the recognizers below are regular expressions plus the
validations that make them precise: the Luhn check for card numbers, ISO 13616 mod-97 for
IBANs, the SSA's invalid-area rules for SSNs, a digit count for phone numbers.

Names have no checksum: they are found after a cue ("my name is", "account holder:",
"this is", a sign-off such as "Thanks, Ann Lee" or a Title-Case name on the last line).
A name with no cue is not found; the datasheet of a release says so.

Every recognizer returns ``Finding(kind, start, end)``; overlapping findings are resolved
in priority order (``RECOGNIZERS``), the first wins.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

EMAIL = "EMAIL"
PHONE = "PHONE"
CARD = "CARD_NUMBER"
IBAN = "IBAN"
SSN = "US_SSN"
DATE_OF_BIRTH = "DATE_OF_BIRTH"
NAME = "PERSON_NAME"
PII_TYPES = (EMAIL, CARD, IBAN, SSN, DATE_OF_BIRTH, PHONE, NAME)


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to numbers, mod 97 = 1."""
    compact = re.sub(r"\s+", "", iban).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    numeric = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
    return int(numeric) % 97 == 1


_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}", re.UNICODE)
_CARD = re.compile(r"(?<![\d+-])\d(?:[ -]?\d){12,18}(?![\d-])")
_IBAN = re.compile(r"\b[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?\b")
_SSN_SEPARATED = re.compile(r"(?<![\d-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\d-])")
_SSN_BARE = re.compile(
    r"(?i)(?:ssn|social security(?: number| no\.?)?)\D{0,15}?(?<!\d)(\d{3})(\d{2})(\d{4})(?!\d)"
)
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(0\)[ ]?)?(?:\(\d{2,5}\)[ .-]?)?"
    r"\d{2,5}(?:[ .-]?\d{2,5}){1,4}(?![\w])"
)
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DATE = re.compile(
    r"(?i)\b(?:"
    r"\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)\d{2}"
    r"|(?:19|20)\d{2}-\d{1,2}-\d{1,2}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)? (?:of )?{_MONTHS},? (?:19|20)\d{{2}}"
    rf"|{_MONTHS} \d{{1,2}}(?:st|nd|rd|th)?,? (?:19|20)\d{{2}}"
    r")\b"
)
_BIRTH_CUE = re.compile(r"(?i)(?:born|birth|dob|d\.o\.b)\W{0,20}$")
_NAME_TOKEN = r"[^\W\d_][^\s,.;:!?()\[\]\"]*"
_NAME_STOP = frozenset(
    [
        "and",
        "i",
        "im",
        "i'm",
        "from",
        "here",
        "calling",
        "writing",
        "at",
        "on",
        "in",
        "with",
        "about",
        "my",
        "the",
        "a",
        "an",
        "of",
        "to",
        "please",
        "urgent",
        "sorry",
        "not",
        "just",
        "so",
        "really",
        "your",
        "you",
        "we",
    ]
)
_STRONG_NAME_CUE = re.compile(
    rf"(?i)(?:my name is|my name's|account holder:?|name:)\s+"
    rf"({_NAME_TOKEN}(?:\s+{_NAME_TOKEN}){{0,2}})"
)
_WEAK_NAME_CUE = re.compile(
    rf"(?i)(?:this is|i am|i'm)\s+({_NAME_TOKEN}(?:\s+{_NAME_TOKEN}){{0,2}})"
)
_SIGNOFF = re.compile(
    rf"(?i)(?:thanks|thank you|thanks in advance|cheers|many thanks|regards|kind regards|"
    rf"appreciate (?:your|ur|u) help|thx|best)\s*[,!.-]?\s+({_NAME_TOKEN}(?:\s+{_NAME_TOKEN})?)"
    r"\W*$"
)
_DASH_SIGNOFF = re.compile(rf"(?:^|\s)[-–]\s*({_NAME_TOKEN}(?:\s+{_NAME_TOKEN})?)\W*$")
# One or two words alone after the last sentence (or a redaction), before trailing emoji.
_LAST_LINE_NAME = re.compile(
    rf"(?:[.!?\]]\s+|\n)({_NAME_TOKEN}(?:\s+{_NAME_TOKEN})?)\W*$"
    rf"|\d\s+({_NAME_TOKEN}\s+{_NAME_TOKEN})\W*$"  # right after a number (an IBAN, a phone)
)
# "this is sophie rossi." in an all-lower-case text: exactly two words, then punctuation.
_LOWER_WEAK_CUE = re.compile(rf"(?:this is|i am|i'm)\s+({_NAME_TOKEN}\s+{_NAME_TOKEN})(?=[.,!?]|$)")
_CLOSINGS = frozenset(
    [
        "thanks",
        "thank",
        "cheers",
        "regards",
        "best",
        "thx",
        "appreciate",
        "many",
        "kind",
        "help",
        "you",
    ]
)


def _emails(text: str) -> Iterator[Finding]:
    for m in _EMAIL.finditer(text):
        yield Finding(EMAIL, m.start(), m.end())


def _cards(text: str) -> Iterator[Finding]:
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            yield Finding(CARD, m.start(), m.end())


def _ibans(text: str) -> Iterator[Finding]:
    for m in _IBAN.finditer(text):
        if iban_valid(m.group()):
            yield Finding(IBAN, m.start(), m.end())


def _ssn_parts_valid(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _ssns(text: str) -> Iterator[Finding]:
    for m in _SSN_SEPARATED.finditer(text):
        if _ssn_parts_valid(m.group(1), m.group(3), m.group(4)):
            yield Finding(SSN, m.start(), m.end())
    for m in _SSN_BARE.finditer(text):
        if _ssn_parts_valid(m.group(1), m.group(2), m.group(3)):
            yield Finding(SSN, m.start(1), m.end(3))


def _dates_of_birth(text: str) -> Iterator[Finding]:
    """A full calendar date after a birth cue, or any full date with a year before 2016
    (old enough to be someone's birth date: redacting a stray old date is the safe error)."""
    for m in _DATE.finditer(text):
        year = int(re.findall(r"(?:19|20)\d{2}", m.group())[-1])
        if year < 2016 or _BIRTH_CUE.search(text[max(0, m.start() - 30) : m.start()]):
            yield Finding(DATE_OF_BIRTH, m.start(), m.end())


def _phones(text: str) -> Iterator[Finding]:
    for m in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 9 <= len(digits) <= 15:
            yield Finding(PHONE, m.start(), m.end())


_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


def _name_span(text: str, m: re.Match[str]) -> Finding | None:
    tokens = m.group(1).split()
    kept = []
    for token in tokens:
        if _bare(token) in _NAME_STOP | _CLOSINGS:
            break
        kept.append(token)
    if not kept:
        return None
    start = m.start(1)
    end = start  # the exact source span (tokens may be separated by several spaces)
    for token in kept:
        end = text.index(token, end) + len(token)
    return Finding(NAME, start, end)


def _names(text: str) -> Iterator[Finding]:
    for pattern in (_STRONG_NAME_CUE, _WEAK_NAME_CUE, _SIGNOFF, _DASH_SIGNOFF):
        for m in pattern.finditer(text):
            if pattern is _WEAK_NAME_CUE and not m.group(1)[:1].isupper():
                continue  # "this is urgent", "i am locked out": not a name
            if pattern in (_SIGNOFF, _DASH_SIGNOFF) and _is_stop_phrase(m.group(1)):
                continue
            finding = _name_span(text, m)
            if finding is not None:
                yield finding
    last = [_LAST_LINE_NAME] + ([_LOWER_WEAK_CUE] if text == text.lower() else [])
    for pattern in last:
        for m in pattern.finditer(text):
            group = 1 if m.group(1) else 2
            words = m.group(group)
            if not _is_stop_phrase(words) and (words[:1].isupper() or text.islower()):
                yield Finding(NAME, m.start(group), m.end(group))


def _bare(token: str) -> str:
    """A token lower-cased without the quotes, emoji or punctuation around it."""
    return _EDGES.sub("", token.lower())


def _is_stop_phrase(words: str) -> bool:
    tokens = {_bare(w) for w in words.split()}
    return bool(tokens & (_CLOSINGS | _NAME_STOP))


Recognizer = Callable[[str], Iterator[Finding]]
RECOGNIZERS: tuple[tuple[str, Recognizer], ...] = (
    (EMAIL, _emails),
    (IBAN, _ibans),
    (CARD, _cards),
    (SSN, _ssns),
    (DATE_OF_BIRTH, _dates_of_birth),
    (PHONE, _phones),
    (NAME, _names),
)


def find_pii(text: str, kinds: tuple[str, ...] = PII_TYPES) -> list[Finding]:
    """Non-overlapping findings in ``text``, earlier recognizers winning overlaps."""
    taken: list[Finding] = []
    for kind, recognizer in RECOGNIZERS:
        if kind not in kinds:
            continue
        for finding in recognizer(text):
            if all(finding.end <= t.start or finding.start >= t.end for t in taken):
                taken.append(finding)
    return sorted(taken, key=lambda f: f.start)
