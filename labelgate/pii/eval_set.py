"""A labeled PII test set: positive snippets with the exact span of each personal value, and
hard negatives that look like personal data but are not.

Positives put values generated in the formats people really write (card numbers of every
major scheme with spaces, dashes, dots or none; IBANs of 20 countries, compact, in groups of
four or with dashes; UK, US, German, French, Dutch, Irish and Australian phone numbers;
plain and obfuscated emails; SSNs; dates of birth after or before a birth cue in ten date
formats; names after a cue or in a sign-off) into sentences of customer messages, in mixed,
lower and upper case. Hard negatives are what finance news, invoices and support tickets are
full of: dated news leads, amounts, tickers, product codes and barcodes with valid check
digits, invoice and order numbers, versions, IP addresses, ranges, numbers that fail the Luhn
or mod-97 check, short numbers after a ``+``, and "at"/"dot" in ordinary sentences.

Everything is generated from a seed, so the set is the same on every run; ``snippets(seed)``
with another seed gives a fresh draw of the same distribution (the benchmark uses both, so
the recognizers are not tuned to one draw).
"""

import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field

from labelgate.pii.kinds import CARD, DATE_OF_BIRTH, EMAIL, IBAN, NAME, PHONE, SSN
from labelgate.pii.numbers import IBAN_LENGTHS, luhn_valid

Span = tuple[str, int, int]  # kind, start, end


@dataclass(frozen=True)
class Snippet:
    text: str
    spans: tuple[Span, ...] = field(default_factory=tuple)
    category: str = ""  # the kind for positives; what the look-alike is for negatives

    @property
    def positive(self) -> bool:
        return bool(self.spans)


def _fill(template: str, value: str, kind: str, case: str = "keep") -> Snippet:
    """``template`` with ``{}`` replaced by ``value``; the span is where the value landed."""
    before, after = template.split("{}")
    text = before + value + after
    if case == "lower":
        text = text.lower()
    elif case == "upper" and kind not in (EMAIL, NAME):
        text = text.upper()
    start = len(before)
    return Snippet(text, ((kind, start, start + len(value)),), kind)


# --- values ---------------------------------------------------------------------------------


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _luhn_complete(body: str) -> str:
    """``body`` with the check digit that makes it pass the Luhn test."""
    for check in string.digits:
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("unreachable")


_CARD_SCHEMES: tuple[tuple[Callable[[random.Random], str], int, tuple[int, ...]], ...] = (
    (lambda r: "4", 16, (4, 4, 4, 4)),  # Visa
    (lambda r: str(r.randint(51, 55)), 16, (4, 4, 4, 4)),  # Mastercard
    (lambda r: str(r.randint(2221, 2720)), 16, (4, 4, 4, 4)),  # Mastercard 2-series
    (lambda r: r.choice(("34", "37")), 15, (4, 6, 5)),  # Amex
    (lambda r: r.choice(("6011", "65")), 16, (4, 4, 4, 4)),  # Discover
    (lambda r: r.choice(("36", "38")), 14, (4, 6, 4)),  # Diners
    (lambda r: "35" + str(r.randint(28, 89)), 16, (4, 4, 4, 4)),  # JCB
    (lambda r: "62", 16, (4, 4, 4, 4)),  # UnionPay
)


def card_number(rng: random.Random) -> str:
    prefix_of, length, groups = rng.choice(_CARD_SCHEMES)
    prefix = prefix_of(rng)
    number = _luhn_complete(prefix + _digits(rng, length - len(prefix) - 1))
    separator = rng.choice(("", " ", " ", "-", "."))
    parts, at = [], 0
    for size in groups:
        parts.append(number[at : at + size])
        at += size
    return separator.join(parts)


_IBAN_COUNTRIES = (
    "GB", "DE", "FR", "ES", "IT", "NL", "BE", "CH", "AT", "IE", "PT", "PL", "SE", "DK", "FI",
    "NO", "LU", "CZ", "GR", "RO",
)  # fmt: skip


def iban(rng: random.Random, *, valid: bool = True) -> str:
    country = rng.choice(_IBAN_COUNTRIES)
    length = IBAN_LENGTHS[country]
    bank = "".join(rng.choice(string.ascii_uppercase) for _ in range(4))
    bban = (bank if country in ("GB", "NL", "IE") else _digits(rng, 4)) + _digits(rng, length - 8)
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    if not valid:
        check = (check + rng.randint(1, 96)) % 97 or 2
    compact = f"{country}{check:02d}{bban}"
    style = rng.choice(("compact", "spaced", "spaced", "dashed"))
    if style == "compact":
        return compact
    groups = [compact[i : i + 4] for i in range(0, len(compact), 4)]
    return (" " if style == "spaced" else "-").join(groups)


_FIRST = (
    "Ann", "John", "Maria", "Wei", "Fatima", "Olusegun", "Priya", "Mateusz", "Sofia", "Liam",
    "Chloé", "Jürgen", "Aiko", "Carlos", "Noor", "Emeka", "Ingrid", "Dmitri", "Grace", "Tomás",
)  # fmt: skip
_LAST = (
    "Lee", "Smith", "Garcia", "Okafor", "Nowak", "Rossi", "Müller", "Tanaka", "Haddad", "Brown",
    "O'Neill", "Kowalski", "Dubois", "Silva", "Johansson", "Patel", "Nguyen", "Evans", "Adeyemi",
)  # fmt: skip
_DOMAINS = ("example.com", "example.co.uk", "mail.example.org", "example.net", "example.de")


def _ascii_name(name: str) -> str:
    table = str.maketrans("éüáó'", "euao ")
    return name.translate(table).replace(" ", "").lower()


def email(rng: random.Random) -> str:
    first, last = _ascii_name(rng.choice(_FIRST)), _ascii_name(rng.choice(_LAST))
    local = rng.choice(
        (f"{first}.{last}", f"{first}{last}{rng.randint(1, 99)}", f"{first[0]}{last}",
         f"{first}_{last}", f"{first}+bank")
    )  # fmt: skip
    domain = rng.choice(_DOMAINS)
    style = rng.choice(("plain", "plain", "plain", "dot_at", "paren", "bracket"))
    if style == "plain":
        return f"{local}@{domain}"
    if style == "dot_at":
        return f"{local.replace('.', ' dot ')} at {domain.replace('.', ' dot ')}"
    if style == "paren":
        return f"{local}(at){domain.replace('.', '(dot)')}"
    return f"{local} [at] {domain.replace('.', ' [dot] ')}"


def phone(rng: random.Random) -> str:
    d = lambda n: _digits(rng, n)  # noqa: E731
    return rng.choice(
        (
            f"07700 900{d(3)}", f"+44 7700 900{d(3)}", f"+44 (0)7700 900{d(3)}",
            f"020 7946 0{d(3)}", f"+44 20 7946 0{d(3)}", f"(212) 555-01{d(2)}",
            f"415-555-01{d(2)}", f"+1 646 555 01{d(2)}", f"+1-202-555-01{d(2)}",
            f"+49 151 {d(8)}", f"030 {d(4)} {d(4)}", f"+33 6 {d(2)} {d(2)} {d(2)} {d(2)}",
            f"+31 6 {d(8)}", f"+353 87 {d(3)} {d(4)}", f"+61 4{d(2)} {d(3)} {d(3)}",
            f"0{rng.randint(6, 7)} {d(2)} {d(2)} {d(2)} {d(2)}", f"1-800-555-01{d(2)}",
            f"0044 20 7946 0{d(3)}", f"+49 (0)30 {d(7)}", f"555.867.{d(4)}",
            f"+44 (0) 161 496 0{d(3)}", f"01632 960{d(3)}", f"+1 (312) 555-01{d(2)}",
        )
    )  # fmt: skip


def ssn(rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    parts = (f"{area:03d}", f"{rng.randint(1, 99):02d}", f"{rng.randint(1, 9999):04d}")
    return rng.choice(("-", "-", " ")).join(parts)


_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def full_date(rng: random.Random, *, years: tuple[int, int] = (1940, 2006)) -> str:
    y, m, d = rng.randint(*years), rng.randint(1, 12), rng.randint(1, 28)
    month = _MONTHS[m - 1]
    return rng.choice(
        (f"{d:02d}/{m:02d}/{y}", f"{m}/{d}/{y}", f"{y}-{m:02d}-{d:02d}", f"{d} {month} {y}",
         f"{month} {d}, {y}", f"{d:02d}.{m:02d}.{y}", f"{d}th of {month} {y}",
         f"{month[:3]} {d}, {y}", f"{d}/{m}/{y % 100:02d}", f"{y}.{m:02d}.{d:02d}")
    )  # fmt: skip


def person(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


# --- positives ------------------------------------------------------------------------------

_TEMPLATES: dict[str, tuple[Callable[[random.Random], str], tuple[str, ...]]] = {
    CARD: (card_number, (
        "My card number is {} and it was stolen yesterday.", "card {} was declined twice",
        "Please block {} immediately.", "Someone used {} at a petrol station I never visited",
        "Refund the charge on card {} please", "{} is the card that was charged twice.",
        "visa ending... actually full number {}, exp 09/27", "(card {})",
    )),
    IBAN: (iban, (
        "Please send the refund to {} as soon as possible.", "IBAN: {} was used for the transfer",
        "My IBAN is {}.", "The money should go back to {}", "account {} - please confirm",
        "{} is my new account for the salary", "pay into {}, reference rent",
    )),
    EMAIL: (email, (
        "You can email me at {} if anything is unclear.", "my address is {} thanks",
        "Contact: {}", "{} is my new email address.", "Send the statement to {} please.",
        "reply to {}", "e-mail {} or call the branch", "(email: {})",
    )),
    PHONE: (phone, (
        "Call me on {} after 5pm.", "My number is {}.", "Phone: {}",
        "best number to reach me is {}", "{} is my mobile, text me there",
        "You can ring me on {} any time tomorrow", "tel. {}", "Mobile {} (evenings)",
        "whatsapp {} if easier",
    )),
    SSN: (ssn, (
        "SSN: {}", "My social security number is {} for the tax form.",
        "the form asks for my SSN, it is {}", "{} is my social security number",
    )),
    DATE_OF_BIRTH: (full_date, (
        "My date of birth is {}.", "DOB: {}", "I was born on {} in Leeds.", "For security, DOB {}.",
        "born {}, if you need it", "Date of birth: {}", "{} is my birthday, as on file",
        "my d.o.b. is {}", "Name on file, DOB {} - please check", "birthday: {}",
        "I was born {} and the form says otherwise",
    )),
    NAME: (person, (
        "My name is {} and I need help with my account.", "Account holder: {}",
        "Please help. Thanks, {}", "Hello, this is {} calling about my loan.",
        "Name: {}", "Kind regards, {}", "I'm {} and my card was stolen.",
        "Regards,\n{}", "Many thanks\n{}", "my name's {}, customer since 2010",
    )),
}  # fmt: skip


def positives(rng: random.Random, per_kind: int = 40) -> list[Snippet]:
    out = []
    for kind, (value_of, templates) in _TEMPLATES.items():
        for i in range(per_kind):
            case = "lower" if i % 5 == 3 else "upper" if i % 11 == 7 else "keep"
            out.append(_fill(templates[i % len(templates)], value_of(rng), kind, case))
    # Two kinds in one message, to check neither swallows the other.
    for _ in range(per_kind // 2):
        a, b = rng.sample(sorted(_TEMPLATES), 2)
        if a == NAME:  # a sign-off ends the message
            a, b = b, a
        first = _fill(rng.choice(_TEMPLATES[a][1]), _TEMPLATES[a][0](rng), a)
        second = _fill(rng.choice(_TEMPLATES[b][1]), _TEMPLATES[b][0](rng), b)
        offset = len(first.text) + 1
        (_, s, e) = second.spans[0]
        spans = (first.spans[0], (b, s + offset, e + offset))
        out.append(Snippet(f"{first.text} {second.text}", spans, f"{a}+{b}"))
    return out


# --- hard negatives -------------------------------------------------------------------------

_CITIES = ("Helsinki", "London", "Frankfurt", "New York", "Tokyo", "Paris", "Stockholm")
_COMPANIES = ("Lemminkainen Oyj", "Nokia", "Componenta", "Aspo", "Rautaruukki", "Elcoteq")


def _news_date(rng: random.Random) -> str:
    date = full_date(rng, years=(1995, 2024))
    city, company = rng.choice(_CITIES), rng.choice(_COMPANIES)
    return rng.choice(
        (
            f"{city} {date} - Finnish company {company} said its net sales rose 5%.",
            f"The union called a two-day strike that would begin on {date}.",
            f"{company} will publish its interim report on {date}.",
            f"Shares fell 3% on {date} after the profit warning.",
            f"The deal, signed on {date}, values the unit at EUR 1.2 billion.",
            f"The contract runs from {date} to {full_date(rng, years=(2025, 2030))}.",
            f"The payment on {date} was not mine.",
            f"Born out of a 1999 merger, {company} reported results on {date}.",
        )
    )


def _ean13(rng: random.Random) -> str:
    body = rng.choice(("400", "500", "890", "978", "761")) + _digits(rng, 9)
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _luhn_failing(rng: random.Random) -> str:
    number = _luhn_complete("4" + _digits(rng, 14))
    bad = number[:-1] + str((int(number[-1]) + rng.randint(1, 9)) % 10)
    return rng.choice((" ", "-", "")).join(bad[i : i + 4] for i in range(0, 16, 4))


def _hard_negative(rng: random.Random, category: str) -> str:
    d = lambda n: _digits(rng, n)  # noqa: E731
    company = rng.choice(_COMPANIES)
    match category:
        case "news_date":
            return _news_date(rng)
        case "amount":
            return rng.choice((
                f"Net sales increased to EUR {rng.randint(100, 999)}.{d(1)} mn from EUR {d(3)} mn.",
                f"I was charged £{rng.randint(1, 9)},{d(3)}.{d(2)} twice this month.",
                f"The order book stood at USD {rng.randint(1, 9)} {d(3)} {d(3)} {d(3)}.",
                f"Operating profit was {rng.randint(10, 99)},{d(3)},{d(3)} dollars.",
                f"{company} paid a dividend of EUR 0.{d(2)} per share, {d(2)}.{d(1)}% more.",
            ))  # fmt: skip
        case "ticker":
            return rng.choice((
                f"{company} (HEL: {rng.choice(('LEM1S', 'NOK1V', 'CTH1V'))}) rose {d(1)}.{d(1)}%",
                "Apple (NASDAQ: AAPL) and Microsoft (NASDAQ: MSFT) led the gains.",
                f"The OMX Helsinki 25 index closed at {rng.randint(1, 3)},{d(3)}.{d(2)} points.",
                f"Follow us @{company.split()[0].lower()} for updates on the results.",
            ))  # fmt: skip
        case "product_code":
            return rng.choice((
                f"SKU {_ean13(rng)} is out of stock.", f"Barcode {_ean13(rng)} scanned at till 3.",
                f"ISBN 978-{d(1)}-{d(3)}-{d(5)}-{d(1)} is the second edition.",
                f"Part no. {rng.choice(('AB', 'XZ', 'QT'))}-{d(4)}-{d(4)}-{d(2)} was shipped.",
                f"Model GB{d(2)}-WX{d(2)} replaced the older unit.",
                f"Tracking number 1Z{d(3)}AA{d(10)} shows it in transit.",
            ))  # fmt: skip
        case "invoice":
            return rng.choice((
                f"Invoice 0{d(9)} is overdue.", f"Order #{d(10)} has not arrived.",
                f"Your reference is INV-20{d(2)}-{d(6)}.", f"Ticket {d(7)} was closed.",
                f"ref {d(4)}/{d(2)}/{d(3)} in the ledger", f"Customer number {d(8)} was updated.",
                f"Transaction ID {d(12)} failed.", f"Case {d(3)}-{d(4)}-{d(3)} is open.",
                f"Loan agreement LN/20{d(2)}/{d(6)} was signed.",
            ))  # fmt: skip
        case "phone_like":
            return rng.choice((
                "+1-555-0100 fee question", f"Fiscal 20{d(2)}-20{d(2)} results were weak.",
                f"Version {d(1)}.{d(2)}.{d(3)}.{d(4)} fixed the bug.",
                f"Server 192.168.{rng.randint(1, 254)}.{rng.randint(1, 254)} was down.",
                f"Open {d(1)}:{d(2)}-{d(1)}:{d(2)} on weekdays, account ending {d(4)}.",
                f"Volumes of {rng.randint(1, 9)} {d(3)} {d(3)} tonnes were sold.",
                f"Coordinates 60.{d(4)}, 24.{d(4)} mark the plant.",
                f"Between {d(4)} and {d(4)} units were recalled.",
                f"+{d(1)}.{d(1)}% year on year, {d(3)} {d(3)} {d(3)} shares traded",
            ))  # fmt: skip
        case "bad_checksum":
            return rng.choice((
                f"Card {_luhn_failing(rng)} fails the check.",
                f"IBAN {iban(rng, valid=False)} has a typo.",
                f"Order {_luhn_failing(rng).replace(' ', '')} shipped.",
            ))  # fmt: skip
        case "at_dot":
            return rng.choice((
                f"I bought it at amazon dot com and the {company} charge is wrong.",
                "Meet me at the branch at 10 am.", "Look at the dot matrix printer output.",
                "Shares traded at EUR 12.5 on the Helsinki exchange.",
                f"Visit {company.split()[0].lower()}.com for the annual report.",
                "Prices are listed at amazon.com and at ebay.com.",
            ))  # fmt: skip
        case "name_like":
            return rng.choice((
                "This is urgent, I am locked out of my account.", "Thanks, Customer Service",
                "Best regards, the support team", "I am writing about my loan.",
                "Thanks in advance!", f"{company} said it expects sales to grow.",
                "Call me back please. Thank you", f"Sent {d(2)} {d(3)} 123 items",
                "Shop at example dot com for the best deals.", "Best wishes for the new year",
                f"{company} Chief Executive said the outlook is stable. Read More",
                "I am very upset and want a refund.", "this is not what i ordered, thanks",
            ))  # fmt: skip
        case "ssn_like":
            return rng.choice((
                f"ZIP 10{d(3)}-{d(4)} is the new postcode.", f"Meeting room {d(2)}-{d(3)}",
                f"Dated {rng.randint(1, 28)}.{rng.randint(1, 12)}.", f"Batch {d(2)}-{d(2)}-{d(2)}",
            ))  # fmt: skip
    raise ValueError(f"unknown negative category {category!r}")


NEGATIVE_CATEGORIES = (
    "news_date", "news_date", "news_date", "amount", "ticker", "product_code", "invoice",
    "invoice", "phone_like", "phone_like", "bad_checksum", "at_dot", "name_like", "ssn_like",
)  # fmt: skip


def hard_negatives(rng: random.Random, n: int = 280) -> list[Snippet]:
    out = []
    for i in range(n):
        category = NEGATIVE_CATEGORIES[i % len(NEGATIVE_CATEGORIES)]
        text = _hard_negative(rng, category)
        out.append(Snippet(text.lower() if i % 7 == 5 else text, (), category))
    return out


def snippets(seed: int = 0) -> list[Snippet]:
    """The labeled set: 300 positives (40 per kind plus 20 with two kinds), 280 negatives."""
    rng = random.Random(seed)
    return positives(rng) + hard_negatives(rng)
