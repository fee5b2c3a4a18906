"""Pattern recognizers for personal data in free text, with checksum validation.

Why our own and not presidio or scrubadub: presidio-analyzer's pattern recognizers were
tried here without spaCy models. Its email recognizer calls tldextract, which fetches the
public suffix list over the network at first use (nothing may be downloaded at run time),
its US SSN recognizer rejected common SSN shapes, its phone recognizer (US region) missed
UK numbers, and the package pulls in spaCy and its compiled dependencies for recognizers
that are a few regular expressions. scrubadub depends on the same kind of NLP stack and is
unmaintained since 2022. So the recognizers below are regular expressions plus the
validations that make them precise: the Luhn check and issuer prefixes for card numbers,
ISO 13616 lengths and mod-97 for IBANs, the SSA's invalid-area rules for SSNs, a phone layout
or cue for phone numbers (``labelgate.pii.numbers``).

A date is a date of birth only with a cue ("born", "DOB", "date of birth", "birthday"):
news text is full of dates that are not personal data. Emails are found as written
(``ann@example.com``) and as people obfuscate them (``ann dot lee at example dot com``,
``ann(at)example(dot)com``).

Names have no checksum: they are found after a cue ("my name is", "account holder:",
"this is", a sign-off such as "Thanks, Ann Lee" or a Title-Case name on the last line).
A name with no cue is not found; the datasheet of a release says so.

Every recognizer returns ``Finding(kind, start, end)``; overlapping findings are resolved
in priority order (``RECOGNIZERS``), the first wins.
"""

import re
from collections.abc import Callable, Iterator

from labelgate.pii.common_words import COMMON_WORDS
from labelgate.pii.kinds import (
    CARD,
    DATE_OF_BIRTH,
    EMAIL,
    IBAN,
    NAME,
    PHONE,
    PII_TYPES,
    SSN,
    Finding,
)
from labelgate.pii.numbers import cards, iban_valid, ibans, luhn_valid, phones, ssns

__all__ = ["PII_TYPES", "Finding", "find_pii", "iban_valid", "luhn_valid"]

# Bounded repeats (RFC 5321 sizes) and starts at a token's start keep hostile input, such as
# 20,000 characters of "a.a.a." or "x dot x dot", linear in its length.
_EMAIL = re.compile(
    r"(?<![\w.+'-])[\w.+'-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}\.[A-Za-z]{2,24}(?![\w-])"
)
_DOT = r"(?:\s*(?:\(dot\)|\[dot\]|\{dot\})\s*|\s+dot\s+|\.)"
_AT = r"(?:\s*(?:\(at\)|\[at\]|\{at\})\s*|\s+at\s+|\s*@\s*)"
_TLD = (
    r"(?:com|org|net|edu|gov|mil|int|info|biz|io|co|me|tv|app|dev|uk|us|ca|au|nz|ie|de|fr|es"
    r"|it|nl|be|ch|at|se|no|dk|fi|pl|pt|cz|gr|ru|jp|cn|in|br|mx|za|eu|example)"
)
# Words that end up before " at " in ordinary text ("shop at", "look at", "bought it at").
_NOT_A_MAILBOX = (
    r"(?:it|me|us|him|her|them|you|we|they|i|one|this|that|there|here|everything|anything"
    r"|shop|shopping|shopped|buy|buying|bought|sell|selling|sold|order|ordered|ordering|book"
    r"|booked|booking|look|looking|available|found|find|listed|online|cheaper|priced|deals"
    r"|sale|stock|apply|applied|register|registered|sign|signed|work|works|worked|working"
    r"|job|jobs|pay|paid|purchase|purchased|arrive|arrived|stay|stayed|live|lives|lived"
    r"|meet|met|be|is|are|was|were|been|am|go|went|get|got|came|come|traded|trading|closed"
    r"|opened|rose|fell|ended|shares|stock|valued|started|starting|offered|launched)"
)
_OBFUSCATED_EMAIL = re.compile(
    rf"(?i)(?<![\w.@-])(?!{_NOT_A_MAILBOX}{_AT})[\w+-]{{1,64}}(?:{_DOT}[\w+-]{{1,64}}){{0,4}}"
    rf"{_AT}[\w-]{{1,63}}(?:{_DOT}[\w-]{{1,63}}){{0,4}}{_DOT}{_TLD}(?![\w@]|\.\w)"
)
_SPELLED = re.compile(r"(?i)\bat\b|\bdot\b|[\[({](?:at|dot)[\])}]")
_BRACKET_AT = re.compile(r"(?i)[\[({]at[\])}]")
_SPELLED_DOT = re.compile(r"(?i)\bdot\b")
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DATE = re.compile(
    r"(?i)\b(?:"
    r"\d{1,2}([/.-])\d{1,2}\1(?:(?:19|20)\d{2}|\d{2}(?![/.-]?\d))"  # 3/4/1985, 03.04.85
    r"|(?:19|20)\d{2}([/.-])\d{1,2}\2\d{1,2}"  # 1985-04-03, 1985.04.03
    rf"|\d{{1,2}}(?:st|nd|rd|th)? (?:of )?{_MONTHS},? (?:19|20)\d{{2}}"
    rf"|{_MONTHS} \d{{1,2}}(?:st|nd|rd|th)?,? (?:19|20)\d{{2}}"
    r")\b"
)
_BIRTH_WORD = r"(?:born|birth|birthday|b-?day|dob|d\.o\.b\.?)"
_BIRTH_CUE = re.compile(rf"(?i)\b{_BIRTH_WORD}(?:\W+(?:is|was|on|in|of|the|date|dated|day|:))*\W*$")
_BIRTH_CUE_AFTER = re.compile(
    rf"(?i)^\W*(?:\(?{_BIRTH_WORD}\)?(?!\w)|(?:is|was)\s+(?:my|his|her|their)\s+"
    r"(?:date of birth|birthday|b-?day|dob))"
)
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
    rf"appreciate (?:your|ur|u) help|thx|(?:^|(?<=[.!?,\n])\s*)best)"  # not "the best deals"
    rf"\s*[,!.-]?\s+({_NAME_TOKEN}(?:\s+{_NAME_TOKEN})?)\W*$"
)
_DASH_SIGNOFF = re.compile(rf"(?:^|\s)[-–]\s*({_NAME_TOKEN}(?:\s+{_NAME_TOKEN})?)\W*$")
# One or two words alone after the last sentence (or a redaction), before trailing emoji.
_LAST_LINE_NAME = re.compile(
    rf"(?:[.!?\]]\s+|\n)({_NAME_TOKEN}(?:\s+{_NAME_TOKEN})?)\W*$"
    rf"|\d\s+({_NAME_TOKEN}\s+{_NAME_TOKEN})\W*$"  # right after a number (an IBAN, a phone)
)
# "this is sophie rossi." in an all-lower-case text: exactly two words, then punctuation or a
# word that goes on introducing oneself ("calling", "from").
_LOWER_WEAK_CUE = re.compile(
    rf"(?:this is|i am|i'm)\s+({_NAME_TOKEN}\s+{_NAME_TOKEN})"
    r"(?=[.,!?]|$|\s+(?:calling|writing|speaking|here|from)\b)"
)
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
        "team",
        "customer",
        "service",
        "support",
        "department",
    ]
)


def _emails(text: str) -> Iterator[Finding]:
    for m in _EMAIL.finditer(text):
        yield Finding(EMAIL, m.start(), m.end())
    for m in _OBFUSCATED_EMAIL.finditer(text):
        if _obfuscated_mailbox(m.group()):
            yield Finding(EMAIL, m.start(), m.end())


def _obfuscated_mailbox(found: str) -> bool:
    """An obfuscated email, not "bought it at amazon.com": ``(at)``/``[at]``, or a bare
    " at " with a spelled-out dot in the domain or a mailbox-like local part (``a.lee``)."""
    if not _SPELLED.search(found):
        return False  # written plainly: found by the plain pattern
    if _BRACKET_AT.search(found):
        return True
    local, _, domain = re.split(r"(?i)(\s+at\s+|\s*@\s*)", found, maxsplit=1)
    return bool(_SPELLED_DOT.search(domain) or re.search(r"[._+\d]", local))


def _dates_of_birth(text: str) -> Iterator[Finding]:
    """A full calendar date with a birth cue just before it ("born on", "DOB:", "date of
    birth is") or just after it ("(DOB)", "is my birthday"). Other dates are not personal."""
    for m in _DATE.finditer(text):
        before = text[max(0, m.start() - 40) : m.start()]
        after = text[m.end() : m.end() + 30]
        if _BIRTH_CUE.search(before) or _BIRTH_CUE_AFTER.search(after):
            yield Finding(DATE_OF_BIRTH, m.start(), m.end())


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
            if pattern is _WEAK_NAME_CUE and (not m.group(1)[:1].isupper() or text.isupper()):
                continue  # "this is urgent", "I AM MISSING CASH": capitals don't mark a name
            if pattern is _DASH_SIGNOFF and not (m.group(1)[:1].isupper() or text.islower()):
                continue  # "topping -up"
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
            if _is_stop_phrase(words):
                continue
            if group == 2 and not all(w[:1].isupper() for w in words.split()):
                continue  # "+1-555-0100 fee question": words after a number need capitals
            if _common_phrase(words):
                continue  # "What happened?", "Too much!", "read more": words, not a name
            if words[:1].isupper() or text.islower():
                yield Finding(NAME, m.start(group), m.end(group))


def _bare(token: str) -> str:
    """A token lower-cased without the quotes, emoji or punctuation around it."""
    return _EDGES.sub("", token.lower())


def _common_phrase(words: str) -> bool:
    """Any word of ``words`` is a common English word: a phrase alone at the end of a message
    ("What happened?", "read more") is a name only if none of its words is common."""
    return any(re.sub(r"'s$", "", _bare(w)) in COMMON_WORDS for w in words.split())


def _is_stop_phrase(words: str) -> bool:
    tokens = {_bare(w) for w in words.split()}
    return bool(tokens & (_CLOSINGS | _NAME_STOP))


Recognizer = Callable[[str], Iterator[Finding]]
RECOGNIZERS: tuple[tuple[str, Recognizer], ...] = (
    (EMAIL, _emails),
    (IBAN, ibans),
    (CARD, cards),
    (SSN, ssns),
    (DATE_OF_BIRTH, _dates_of_birth),
    (PHONE, phones),
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
