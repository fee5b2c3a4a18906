"""Recognizers for personal numbers: card numbers, IBANs, US SSNs and phone numbers.

Each shape is matched by a regular expression and then validated, so that the many numbers
in ordinary text (amounts, order and invoice numbers, product codes, dates) are left alone:

- cards: the issuer prefix (IIN) of a real scheme, a card length, and the Luhn check; digits
  in groups separated by spaces, dashes or dots (one separator kind per number); an
  unseparated 13-digit run only after a card cue;
- IBANs: a country of the ISO 13616 registry, that country's exact length, and the mod-97
  check, taken whole in groups separated by spaces or dashes (``BE68 5390 0754 7034``);
- SSNs: the SSA's never-issued areas, groups and serials;
- phones: 9 to 15 digits in a phone layout (``+`` country code, ``(area)``, a national
  number of 10 or 11 digits in groups starting with the trunk ``0``, or US
  ``NXX-NXX-XXXX``), or any such digits right after a phone cue ("call", "mobile", ...).
"""

import re
from collections.abc import Iterator

from labelgate.pii.kinds import CARD, IBAN, PHONE, SSN, Finding

# ISO 13616 IBAN registry (SWIFT, 2024): country -> total length.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616: a registry country at its length; the first four characters moved to the
    end, letters to numbers, the number mod 97 is 1."""
    compact = re.sub(r"[\s-]+", "", iban).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    if IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    numeric = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
    return int(numeric) % 97 == 1


# --- cards ----------------------------------------------------------------------------------

_CARD_GROUPED = re.compile(
    r"(?<![\w+.,/-])\d{4}([ .-])(?:\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|\d{6}\1\d{4,5})"
    r"(?![\w-]|[.,/]\d)"
)
_CARD_LOOSE = re.compile(r"(?<![\w+.,/-])\d(?:[ -]?\d){12,18}(?![\w-]|[.,/]\d)")
_CARD_CUE = re.compile(
    r"(?i)(?:card|visa|master\s?card|amex|american express|discover|maestro|credit|debit"
    r"|\bcc\b|pan\b)[^.!?\n]{0,25}$"
)


def card_prefix_ok(digits: str) -> bool:
    """An issuer prefix and length of a real card scheme (Visa, Mastercard, Amex, Discover,
    Diners, JCB, Maestro, UnionPay)."""
    n, first2, first4 = len(digits), int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return n in (13, 16, 19)
    if 51 <= first2 <= 55 or 2221 <= first4 <= 2720:
        return n == 16
    if first2 in (34, 37):
        return n == 15
    if first2 in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:
        return n in (14, 16, 19)
    if first2 == 35 or digits[0] == "6":
        return 16 <= n <= 19
    if first2 in (50, 56, 57, 58):
        return 12 <= n <= 19
    return False


def _card_ok(text: str, start: int, digits: str) -> bool:
    if not (13 <= len(digits) <= 19 and card_prefix_ok(digits) and luhn_valid(digits)):
        return False
    return len(digits) > 13 or bool(_CARD_CUE.search(text[max(0, start - 40) : start]))


def cards(text: str) -> Iterator[Finding]:
    seen: list[tuple[int, int]] = []
    for pattern in (_CARD_GROUPED, _CARD_LOOSE):
        for m in pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in seen):
                continue
            if _card_ok(text, m.start(), re.sub(r"\D", "", m.group())):
                seen.append((m.start(), m.end()))
                yield Finding(CARD, m.start(), m.end())


# --- IBANs ----------------------------------------------------------------------------------

_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?=[ -]?[A-Za-z0-9])")


def _iban_end(text: str, start: int) -> int | None:
    """End of the IBAN starting at ``start``: exactly the country's length of characters,
    in groups separated by single spaces or dashes, and no character of it glued on."""
    length = IBAN_LENGTHS.get(text[start : start + 2].upper())
    if length is None:
        return None
    count, i, separator = 0, start, ""
    while i < len(text) and count < length:
        char = text[i]
        if char.isascii() and char.isalnum():
            count += 1
        elif char in " -" and count >= 4 and i + 1 < len(text) and text[i + 1].isalnum():
            if separator and char != separator:
                return None
            separator = char
        else:
            return None
        i += 1
    if count < length or (i < len(text) and text[i].isalnum()):
        return None
    return i


def ibans(text: str) -> Iterator[Finding]:
    for m in _IBAN_START.finditer(text):
        end = _iban_end(text, m.start())
        if end is not None and iban_valid(text[m.start() : end]):
            yield Finding(IBAN, m.start(), end)


# --- SSNs -----------------------------------------------------------------------------------

_SSN_SEPARATED = re.compile(r"(?<![\d-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\d-])")
_SSN_BARE = re.compile(
    r"(?i)(?:ssn|social security(?: number| no\.?)?)\D{0,15}?(?<!\d)(\d{3})(\d{2})(\d{4})(?!\d)"
)


def _ssn_parts_valid(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def ssns(text: str) -> Iterator[Finding]:
    for m in _SSN_SEPARATED.finditer(text):
        if _ssn_parts_valid(m.group(1), m.group(3), m.group(4)):
            yield Finding(SSN, m.start(), m.end())
    for m in _SSN_BARE.finditer(text):
        if _ssn_parts_valid(m.group(1), m.group(2), m.group(3)):
            yield Finding(SSN, m.start(1), m.end(3))


# --- phones ---------------------------------------------------------------------------------

_PHONE = re.compile(
    r"(?<![\w+#/.,-])(?:\+\d{1,3}[ .-]?)?(?:\(0\)[ ]?)?(?:\(\d{2,5}\)[ .-]?)?"
    r"\d{1,5}(?:[ .-]?\d{2,5}){1,4}(?![\w]|[.,/-]\d)"
)
_PHONE_LAYOUT = re.compile(
    r"\+\d|00[1-9]\d{0,2}[ .-]\d"  # international
    r"|\(\d"  # (area code)
    r"|(?:1[-. ])?[2-9]\d{2}([-. ])[2-9]\d{2}\1\d{4}$"  # NANP (1-)NXX-NXX-XXXX
)
_TRUNK = re.compile(r"0[1-9]\d*[ .-]\d")  # a national number: trunk 0, in groups
_PHONE_CUE = re.compile(
    r"(?i)(?:\bcall|phone|\btel\b|telephone|mobile|\bcell|\bring\b|\btext\b|\bsms\b|whatsapp"
    r"|\bfax\b|reach me|contact|my number|number to reach|\bmob\b|\btel\.|\bph\.)"
    r"[^.!?\n]{0,25}$"
)
# A number named as something else is not a phone unless a phone cue says so.
_ID_CUE = re.compile(
    r"(?i)\b(?:case|ticket|order|invoice|ref|reference|account|customer|id|no\.|number|#)"
    r"\W{0,3}$"
)


def phones(text: str) -> Iterator[Finding]:
    for m in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if not 9 <= len(digits) <= 15:
            continue
        before = text[max(0, m.start() - 40) : m.start()]
        layout = bool(_PHONE_LAYOUT.match(m.group())) or (
            len(digits) in (10, 11) and bool(_TRUNK.match(m.group()))
        )
        if _PHONE_CUE.search(before) or (layout and not _ID_CUE.search(before)):
            yield Finding(PHONE, m.start(), m.end())
