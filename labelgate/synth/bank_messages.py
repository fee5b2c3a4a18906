"""Synthetic bank customer messages over six intents, with fake PII and realistic noise.

Deterministic for a given seed (stdlib ``random.Random`` only). Messages are built from
templates with nested slots; a share of them is ambiguous (two intents, the truth is the
main one), short/vague, noisy (typos, casing, whitespace, emojis) or an exact duplicate.
All PII is fake: reserved email domains, fictional phone ranges, random card numbers with
a valid Luhn digit, IBANs with a valid mod-97 checksum, random SSNs and dates of birth.
"""

import json
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from labelgate.ids import text_item_id
from labelgate.text import normalize_text

CLASSES: dict[str, str] = {
    "card_fraud": (
        "The customer reports fraud on their card or account: transactions or purchases they "
        "did not make or authorise, a lost, stolen or cloned card, or a scam, and wants the "
        "card blocked."
    ),
    "payment_dispute": (
        "The customer disputes a payment they made themselves to a merchant: charged twice, "
        "goods or services never received, a refund not given, a cancelled subscription still "
        "charged, or a chargeback request."
    ),
    "account_access": (
        "The customer cannot log in or access online banking or the mobile app: forgotten "
        "password or PIN, locked or suspended account, verification codes not arriving."
    ),
    "loan_inquiry": (
        "The customer asks about borrowing money: personal loans, car finance, mortgages, "
        "interest rates, eligibility, monthly repayments or the status of a loan application."
    ),
    "fees_complaint": (
        "The customer complains about bank fees and charges: monthly account fees, overdraft "
        "fees, late payment fees, foreign transaction or ATM fees, and wants them refunded."
    ),
    "address_change": (
        "The customer has moved house and wants to change or update the home or postal "
        "address on their account so that letters and statements go to the new address."
    ),
}

PII_RATE = 0.30
DUPLICATE_RATE = 0.015
SHORT_RATE = 0.07
AMBIGUOUS_RATE = 0.08
_CLASS_WEIGHTS = (0.20, 0.18, 0.19, 0.14, 0.16, 0.13)  # in CLASSES order

Slot = tuple[str, ...] | Callable[["_Filler"], str]

# --- vocabulary -------------------------------------------------------------------------

_FIRST = (
    "James", "Mary", "Olivia", "Liam", "Emma", "Noah", "Sophie", "Oliver", "Amelia", "Harry",
    "Mohammed", "Fatima", "Priya", "Arjun", "Wei", "Mei", "Hiroshi", "Yuki", "Carlos", "Lucía",
    "José", "Zoë", "Renée", "Chloé", "François", "Jürgen", "Søren", "Björn", "Łukasz", "Ana",
    "Kwame", "Amara", "Chidi", "Siobhan", "Niamh", "Sean", "Grace", "Daniel", "Aisha", "Omar",
    "Elena", "Dmitri", "Ingrid", "Lars", "Maria", "David", "Sarah", "Michael", "Jessica", "Tom",
)  # fmt: skip
_LAST = (
    "Smith", "Jones", "Williams", "Brown", "Taylor", "Davies", "Wilson", "Evans", "Patel",
    "Khan", "Singh", "Nguyen", "Chen", "Wang", "Tanaka", "Sato", "García", "Martínez",
    "Müller", "Schäfer", "Dubois", "Lefèvre", "Rossi", "Kowalski", "Nowak", "O'Brien",
    "Murphy", "Kelly", "Okafor", "Mensah", "Johansson", "Andersen", "Ivanova", "Novák",
    "Hughes", "Walker", "Robinson", "Clarke", "Wright", "Thompson", "Lopez", "Cohen",
)  # fmt: skip
_MERCHANTS = (
    "Amazon", "AMZN Mktp", "Tesco", "Uber", "Uber Eats", "Netflix", "Spotify", "eBay",
    "PayPal *GAMESTORE", "Steam", "Booking.com", "Airbnb", "Ryanair", "easyJet", "Zara",
    "ASOS", "Deliveroo", "Just Eat", "Apple.com/bill", "Google Play", "QuickMart",
    "Brightside Gym", "SkyHigh Travel", "ShopNow Online", "CityCab", "Currys", "IKEA",
    "Sainsbury's", "Costa Coffee", "TechDeals Ltd", "FitLife Membership", "StreamMax",
)  # fmt: skip
_CITIES = (
    "London", "Manchester", "Leeds", "Bristol", "Glasgow", "Cardiff", "Belfast", "Dublin",
    "Berlin", "Munich", "Hamburg", "Amsterdam", "Paris", "Madrid", "Lisbon", "New York",
    "Chicago", "Boston", "Toronto", "Edinburgh", "Birmingham", "Liverpool",
)  # fmt: skip
_STREETS = (
    "Oak", "Maple", "Station", "High", "Church", "Victoria", "Park", "Mill", "Queen's",
    "King", "Elm", "Willow", "Bridge", "Market", "Hillside", "Riverside", "Cedar", "Green",
)  # fmt: skip
_STREET_KINDS = ("Street", "Road", "Lane", "Avenue", "Close", "Drive", "Way", "Gardens")
_DATES = (
    "yesterday", "today", "this morning", "last night", "last week", "on Monday",
    "last Tuesday", "on Friday", "two days ago", "over the weekend", "on the 3rd",
    "on the 14th", "a few days ago", "earlier today", "on 12/03", "last month",
)  # fmt: skip
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
_EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "post.test")

_SLOTS: dict[str, Slot] = {
    "card": (
        "card", "debit card", "credit card", "Visa", "Mastercard", "bank card",
        "contactless card", "card ending in {last4}", "card ending {last4}",
    ),
    "charge": ("charge", "transaction", "payment", "purchase", "debit"),
    "charges": ("charges", "transactions", "payments", "purchases"),
    "recognise": ("recognise", "recognize", "know anything about"),
    "authorised": ("authorised", "authorized", "approved", "agreed to"),
    "app": ("app", "mobile app", "banking app", "online banking", "internet banking", "website"),
    "login": ("log in", "login", "sign in", "log on", "get in"),
    "password": ("password", "passcode", "PIN", "login details", "memorable word"),
    "code": (
        "verification code", "one-time passcode", "OTP", "security code", "SMS code",
        "text code",
    ),
    "please": ("Please", "Can you please", "Could you", "Kindly", "I need you to"),
    "asap": ("asap", "as soon as possible", "right away", "immediately", "urgently", "today"),
    "loan": ("personal loan", "loan", "car loan", "home improvement loan", "secured loan"),
    "mortgage": ("mortgage", "home loan", "remortgage", "buy-to-let mortgage"),
    "fee": (
        "monthly account fee", "overdraft fee", "late payment fee", "foreign transaction fee",
        "ATM withdrawal fee", "account maintenance fee", "paper statement fee",
        "unpaid item fee", "arranged overdraft charge", "non-sterling transaction fee",
    ),
    "unhappy": ("unhappy", "not happy", "frustrated", "annoyed", "really disappointed", "fed up"),
    "moved": ("moved house", "moved", "relocated", "moved to a new flat", "moved home"),
    "address_word": (
        "address", "home address", "postal address", "mailing address",
        "correspondence address",
    ),
    "update": ("update", "change", "amend", "correct"),
    "connector": ("Also,", "Oh and", "Btw", "On a separate note,", "Plus", "And"),
    "merchant": _MERCHANTS,
    "date": _DATES,
    "city": _CITIES,
    "country": ("Spain", "Germany", "Canada", "Australia", "Portugal", "Ireland", "France"),
    "term": ("2 years", "3 years", "five years", "24 months", "36 months", "25 years"),
    "years": ("2", "5", "10", "15", "over 20", "three", "eight"),
    "times": ("three", "4", "five", "several", "multiple", "2"),
    "full_name": ("{first} {last}",),
}  # fmt: skip

# --- fake PII ---------------------------------------------------------------------------


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def _luhn_check_digit(partial: str) -> str:
    total = 0
    for i, char in enumerate(reversed(partial)):
        d = int(char)
        if i % 2 == 0:  # these get doubled once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def _card_number(f: "_Filler") -> str:
    rng = f.rng
    kind = rng.choice(("visa", "visa", "mc", "mc2", "amex"))
    prefix = {"visa": "4", "mc": str(rng.randint(51, 55)), "mc2": str(rng.randint(2221, 2720))}
    if kind == "amex":
        body = rng.choice(("34", "37")) + _digits(rng, 12)
        number = body + _luhn_check_digit(body)
        groups = [number[:4], number[4:10], number[10:]]
    else:
        body = prefix[kind] + _digits(rng, 15 - len(prefix[kind]))
        number = body + _luhn_check_digit(body)
        groups = [number[i : i + 4] for i in range(0, 16, 4)]
    return rng.choice((" ", " ", "-", "")).join(groups)


def _iban(f: "_Filler") -> str:
    rng = f.rng
    country = rng.choice(("GB", "GB", "DE", "NL"))
    if country == "GB":
        bban = rng.choice(("NWBK", "BARC", "LOYD", "HBUK", "MIDL")) + _digits(rng, 14)
    elif country == "DE":
        bban = _digits(rng, 18)
    else:
        bban = rng.choice(("ABNA", "INGB", "RABO", "TRIO")) + _digits(rng, 10)
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    iban = f"{country}{98 - int(numeric) % 97:02d}{bban}"
    if rng.random() < 0.5:
        return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    return iban


def _ssn(f: "_Filler") -> str:
    rng = f.rng
    area = rng.choice([a for a in range(1, 900) if a != 666])
    parts = (f"{area:03d}", f"{rng.randint(1, 99):02d}", f"{rng.randint(1, 9999):04d}")
    return rng.choice(("-", "-", "-", " ", "")).join(parts)


def _dob(f: "_Filler") -> str:
    rng = f.rng
    y, m, d = rng.randint(1940, 2004), rng.randint(1, 12), rng.randint(1, 28)
    month = _MONTHS[m - 1]
    return rng.choice(
        (f"{d:02d}/{m:02d}/{y}", f"{m:02d}/{d:02d}/{y}", f"{y}-{m:02d}-{d:02d}",
         f"{d} {month} {y}", f"{month} {d}, {y}", f"{d:02d}.{m:02d}.{y}")
    )  # fmt: skip


def _phone(f: "_Filler") -> str:
    rng = f.rng
    uk, us = f"900{_digits(rng, 3)}", f"01{_digits(rng, 2)}"  # Ofcom / NANP fiction ranges
    return rng.choice(
        (f"07700 {uk}", f"+44 7700 {uk}", f"+44 (0)7700 {uk}", f"(212) 555-{us}",
         f"415-555-{us}", f"+1 646 555 {us}", f"+49 151 {_digits(rng, 8)}")
    )  # fmt: skip


def _maybe_nfd(rng: random.Random, name: str) -> str:
    """Some clients send decomposed accents; ingestion must NFC-normalize them."""
    return unicodedata.normalize("NFD", name) if rng.random() < 0.25 else name


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _email(f: "_Filler") -> str:
    rng = f.rng
    if rng.random() < 0.6:
        first, last = _ascii(f.fill("{first}")), _ascii(f.fill("{last}")).replace("'", "")
    else:
        first, last = _ascii(rng.choice(_FIRST)), _ascii(rng.choice(_LAST)).replace("'", "")
    user = rng.choice(
        (f"{first}.{last}", f"{first}{last}", f"{first[0]}{last}", f"{first}_{last}",
         f"{first}{rng.randint(1, 99)}", f"{last}.{first}{rng.randint(70, 99)}")
    )  # fmt: skip
    return f"{user}@{rng.choice(_EMAIL_DOMAINS)}"


def _money(f: "_Filler", low: float, high: float, cents: bool = True) -> str:
    rng = f.rng
    value = rng.uniform(low, high)
    number = f"{value:,.2f}" if cents and rng.random() < 0.7 else f"{round(value):,}"
    return rng.choice(
        (f"£{number}", f"£{number}", f"${number}", f"€{number}", f"{number} EUR",
         f"GBP {number}", f"{number} pounds")
    )  # fmt: skip


def _address(f: "_Filler") -> str:
    rng = f.rng
    street = f"{rng.randint(1, 240)} {rng.choice(_STREETS)} {rng.choice(_STREET_KINDS)}"
    if rng.random() < 0.3:
        street = f"Flat {rng.randint(1, 30)}, {street}"
    letters = "ABCDEFGHJKLMNPRSTUWY"
    postcode = (
        f"{rng.choice(letters)}{rng.choice(letters)}{rng.randint(1, 20)} "
        f"{rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"
    )
    city = rng.choice(_CITIES)
    return rng.choice((f"{street}, {city} {postcode}", f"{street}, {city}", f"{street} {city}"))


_SLOTS.update(
    {
        "first": lambda f: _maybe_nfd(f.rng, f.rng.choice(_FIRST)),
        "last": lambda f: _maybe_nfd(f.rng, f.rng.choice(_LAST)),
        "email": _email,
        "phone": _phone,
        "card_number": _card_number,
        "iban": _iban,
        "ssn": _ssn,
        "dob": _dob,
        "address": _address,
        "expiry": lambda f: f"{f.rng.randint(1, 12):02d}/{f.rng.randint(26, 31)}",
        "last4": lambda f: _digits(f.rng, 4),
        "amount": lambda f: _money(f, 8, 1800),
        "amount2": lambda f: _money(f, 5, 400),
        "small_amount": lambda f: _money(f, 2, 45),
        "loan_amount": lambda f: f.rng.choice(
            (_money(f, 2000, 60000, cents=False), f"{f.rng.randint(3, 80)}k", "£10,000")
        ),
        "salary": lambda f: _money(f, 22000, 120000, cents=False),
        "ref": lambda f: f.rng.choice(("APP-", "MTG", "#", "LN/2024/")) + _digits(f.rng, 6),
        "days": lambda f: str(f.rng.randint(2, 9)),
    }
)


class _Filler:
    """Fills ``{slot}`` placeholders; a slot keeps one value per message for coherence."""

    _PATTERN = re.compile(r"\{(\w+)\}")

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.values: dict[str, str] = {}

    def fill(self, template: str) -> str:
        return self._PATTERN.sub(lambda m: self._value(m.group(1)), template)

    def _value(self, slot: str) -> str:
        if slot not in self.values:
            source = _SLOTS[slot]
            raw = self.rng.choice(source) if isinstance(source, tuple) else source(self)
            self.values[slot] = self.fill(raw)
        return self.values[slot]


# --- templates per class ----------------------------------------------------------------

_CORE: dict[str, tuple[str, ...]] = {
    "card_fraud": (
        "There is a {charge} of {amount} from {merchant} on my {card} that I didn't make.",
        "I don't {recognise} a {charge} for {amount} at {merchant} {date}.",
        "Someone has used my {card} without my permission.",
        "My {card} was stolen {date} and now there are {charges} I never made.",
        "I lost my phone {date} and I can see {charges} on my {card} that aren't mine.",
        "{please} block my {card} {asap}, I think it has been compromised.",
        "I got a text asking me to approve a {amount} payment to {merchant}. That wasn't me!",
        "There are several {charges} from {merchant} I never {authorised}, I think my card "
        "was cloned.",
        "I think I've been scammed, I typed my card details into a fake delivery website {date}.",
        "Unauthorised cash withdrawal of {amount} from an ATM I've never been to.",
        "My statement shows {charges} in {city} but I have never been there.",
        "{amount} was taken from my account by {merchant} and it was not me. This is fraud.",
        "Somebody is making online purchases with my {card}, but the card is still in my wallet.",
        "A man called pretending to be from the bank and now {amount} is missing from my account.",
        "Is this {charge} from {merchant} legit? I definitely didn't buy anything there.",
    ),
    "payment_dispute": (
        "I was charged twice for the same order at {merchant}.",
        "I paid {merchant} {amount} {date} but the order never arrived.",
        "I cancelled my subscription with {merchant} but they keep taking {amount2} every month.",
        "{merchant} agreed to refund {amount} weeks ago and I still haven't got it.",
        "I want to dispute a {charge} of {amount} to {merchant}, the item was faulty and they "
        "won't take it back.",
        "How do I raise a chargeback for a {charge} to {merchant}?",
        "{merchant} charged me {amount} but the price at checkout was {amount2}.",
        "I sent {amount} to the wrong account by mistake {date}, can you recall the transfer?",
        "My flight with {merchant} was cancelled and they refuse to give my money back.",
        "The hotel kept my {amount2} deposit even though I cancelled within the free period.",
        "I returned the goods to {merchant} {date} and the refund still hasn't shown up.",
        "The direct debit to {merchant} was taken even though I cancelled it.",
        "{merchant} took {amount} instead of the {amount2} we agreed on.",
        "I paid a builder {amount} up front and he never turned up to do the work.",
        "The payment to {merchant} failed on their side but the money left my account anyway.",
    ),
    "account_access": (
        "I can't {login} to the {app}.",
        "My account got locked after too many wrong {password} attempts.",
        "I forgot my {password} and the reset email never arrives.",
        "I'm not receiving the {code} when I try to {login}.",
        "The {app} keeps saying my details are incorrect even though they're right.",
        "I got a new phone and now I can't get into the {app}.",
        "My online banking has been suspended, how do I unlock it?",
        "Face ID stopped working in the {app} and I don't remember my {password}.",
        "How do I reset my security questions? I can't remember the answers.",
        "I keep getting an error when I try to {login}, it just spins and then logs me out.",
        "I've been locked out of my account for {days} days now.",
        "The {code} goes to my old phone number so I can't access my account.",
        "Can you reactivate my online access? It says my user ID is disabled.",
        "Every time I enter my {password} the {app} says 'something went wrong'.",
        "I'm stuck on the {code} screen and can't get past it.",
    ),
    "loan_inquiry": (
        "What's the interest rate on a {loan} of {loan_amount}?",
        "I'd like to apply for a {mortgage}, what documents do I need?",
        "Can I pay off my {loan} early, and is there a penalty for that?",
        "How long does it take to get a decision on a {loan} application?",
        "Am I eligible to borrow {loan_amount} over {term}?",
        "What would the monthly repayments be on {loan_amount} over {term}?",
        "Any update on my {mortgage} application? Reference {ref}.",
        "I want to consolidate my credit card debts into one {loan}.",
        "Do you offer loans to self-employed people?",
        "Could I get a payment holiday on my {loan}?",
        "How much could I borrow for a {mortgage} on a salary of {salary}?",
        "I'm looking to buy a car, do you do car finance?",
        "Is the rate on your {loan} fixed or variable?",
        "Can I top up my existing {loan} by {loan_amount}?",
        "I'd like to borrow {loan_amount} for a new kitchen, what are my options?",
    ),
    "fees_complaint": (
        "Why have I been charged this {fee} of {small_amount}?",
        "I'm {unhappy} about the {fee}, nobody told me about it.",
        "You charged me an overdraft fee even though I was only overdrawn for one day.",
        "A {small_amount} {fee} is outrageous, I want it refunded.",
        "I was never informed about the {fee} when I opened the account.",
        "Every month you take a {small_amount} account fee and I never agreed to it.",
        "Your fees are far too high compared to other banks.",
        "I got hit with the {fee} because my salary came in a day late, please reverse it.",
        "Why do I have to pay {small_amount} in fees just to withdraw my own money abroad?",
        "The {fee} keeps going up and I'm thinking of closing my account.",
        "Can you explain the {small_amount} {fee} on my last statement?",
        "Please waive the {fee}, it's the first time this has happened.",
        "I'm being charged a fee for paper statements I never asked for.",
        "{small_amount} in charges this month for what exactly? I'm {unhappy}.",
    ),
    "address_change": (
        "I've {moved}, please {update} my address to {address}.",
        "How do I {update} the {address_word} on my account?",
        "I need to {update} my {address_word}. The new one is {address}.",
        "Please send future statements to my new address: {address}.",
        "I'm relocating to {city} next month, what do I need to do to update my address?",
        "My {address_word} on your system is wrong, it should be {address}.",
        "Can I change my address online or do I have to visit a branch?",
        "We've just {moved}, can you update the address on both our accounts?",
        "I {moved} {date} and my letters are still going to the old address.",
        "Change of address please. New address: {address}.",
        "I'm moving abroad to {country}, can I keep my account and update my address?",
        "Please {update} my {address_word}, I now live at {address}.",
        "I'd like to register a change of address, I {moved} {date}.",
    ),
}

_DETAIL: dict[str, tuple[str, ...]] = {
    "card_fraud": (
        "I checked with my family and it wasn't them.", "I've never heard of {merchant}.",
        "I was asleep when the {charge} happened.", "I haven't shared my PIN with anyone.",
        "It happened {times} times in one hour.", "I've never been to {city}.",
    ),
    "payment_dispute": (
        "I have the receipt and the order confirmation.",
        "I've emailed them {times} times with no answer.", "They stopped replying to me.",
        "It was paid with my {card}.", "Their customer service just hangs up on me.",
    ),
    "account_access": (
        "I've tried resetting it {times} times.", "I'm using the latest version of the app.",
        "It stopped working {date}.", "I need to pay my rent today.",
        "I've already reinstalled the app.",
    ),
    "loan_inquiry": (
        "I've banked with you for {years} years.", "My income is around {salary} a year.",
        "I'm thinking of a term of {term}.", "I have a good credit score.",
        "It's for a car for my daughter.",
    ),
    "fees_complaint": (
        "I've been a customer for {years} years.", "Other banks don't charge this.",
        "It was never mentioned in the terms I signed.", "This has happened {times} times now.",
        "I'm a student and can't afford this.",
    ),
    "address_change": (
        "The move was {date}.", "My phone number stays the same.",
        "I don't want my statements going to the old place.",
        "The new tenants at my old flat keep getting my post.",
    ),
}  # fmt: skip

_ASK: dict[str, tuple[str, ...]] = {
    "card_fraud": (
        "Please cancel the card and send me a new one.", "I want this money back.",
        "What should I do now?", "Can you investigate {asap}?", "Please freeze my card.",
    ),
    "payment_dispute": (
        "I want my money back.", "Can you help me get a refund?", "Can the bank step in?",
        "What are my options?", "Please open a dispute.",
    ),
    "account_access": (
        "Can you reset it for me?", "How do I get back in?", "Please unlock my account.",
        "Please help, I need access {asap}.",
    ),
    "loan_inquiry": (
        "Could someone call me to discuss?", "Please send me the details.",
        "What are the next steps?", "Can I apply online?",
    ),
    "fees_complaint": (
        "Please refund the fee.", "I expect this to be reversed.", "Can you remove it?",
        "Otherwise I'll move to another bank.",
    ),
    "address_change": (
        "Please confirm once it's done.", "Do you need proof of address?",
        "What documents do you need?", "Thanks for updating it.",
    ),
}  # fmt: skip

# The main intent of an ambiguous message is the truth; the aside mentions a second intent.
_ASIDE: dict[str, tuple[str, ...]] = {
    "card_fraud": (
        "I also spotted a {charge} I don't {recognise}",
        "I'm worried someone might have my card details",
    ),
    "payment_dispute": (
        "I'm still waiting for a refund from {merchant} too",
        "{merchant} also charged me twice last month",
    ),
    "account_access": (
        "I couldn't {login} to the {app} to check it myself",
        "the {app} keeps locking me out as well",
    ),
    "loan_inquiry": (
        "I was also going to ask about a {loan}",
        "at some point I'd like to discuss a {mortgage}",
    ),
    "fees_complaint": (
        "you also charged me an extra {fee} for it", "the {fee} on top of this is ridiculous",
    ),
    "address_change": (
        "I've {moved} recently so my address needs updating too",
        "please note my new address is {address}",
    ),
}  # fmt: skip
_CONFUSABLE: dict[str, tuple[str, ...]] = {
    "card_fraud": ("payment_dispute", "account_access", "fees_complaint"),
    "payment_dispute": ("card_fraud", "fees_complaint"),
    "account_access": ("card_fraud", "address_change"),
    "loan_inquiry": ("fees_complaint", "address_change"),
    "fees_complaint": ("payment_dispute", "loan_inquiry", "account_access"),
    "address_change": ("account_access", "fees_complaint"),
}

_SHORT: dict[str, tuple[str, ...]] = {
    "card_fraud": (
        "card stolen", "fraud on my account", "not my transaction", "someone used my card",
        "block my card", "unknown charge {amount}", "i think i got hacked", "card cloned?",
        "Something weird is going on with my card.", "money gone from my account, not me",
    ),
    "payment_dispute": (
        "double charged", "want a refund from {merchant}", "order never came",
        "charged twice", "dispute a payment", "chargeback", "still no refund from {merchant}",
        "A shop owes me money.", "problem with a payment I made to {merchant}",
    ),
    "account_access": (
        "cant login", "locked out", "password reset not working", "no OTP", "forgot pin",
        "app won't let me in", "Something is wrong, I can't get into my account.",
        "access problem", "help I can't get in",
    ),
    "loan_inquiry": (
        "loan rates?", "mortgage info please", "how much can i borrow", "loan status",
        "personal loan", "interest rate?", "I'd like some information about borrowing.",
        "looking for finance for a big purchase",
    ),
    "fees_complaint": (
        "why the fee", "stop charging me fees", "fee refund", "overdraft fee again",
        "too many fees", "what is this {small_amount} fee",
        "I'm not happy with what you're charging me.", "why so many charges on my account",
    ),
    "address_change": (
        "new address", "moved house", "change address", "update my address",
        "address change", "i moved", "My details need updating, I've moved.",
        "how to change address",
    ),
}  # fmt: skip

_PII_SENTENCES: dict[str, tuple[str, ...]] = {
    "email": (
        "You can reach me at {email}.", "My email is {email}.", "Please reply to {email}.",
        "Contact: {email}", "email me at {email} if you need anything",
    ),
    "phone": (
        "Call me on {phone}.", "My number is {phone}.", "You can ring me on {phone} after 5pm.",
        "Phone: {phone}", "best number to reach me is {phone}",
    ),
    "card": (
        "The card number is {card_number}.", "Card: {card_number}",
        "my card no. is {card_number}", "Card number {card_number}, expiry {expiry}.",
    ),
    "iban": (
        "My IBAN is {iban}.", "Account (IBAN): {iban}", "The money should go back to {iban}.",
        "IBAN {iban}",
    ),
    "ssn": ("My SSN is {ssn} if you need to verify me.", "SSN: {ssn}", "Social security {ssn}."),
    "dob": (
        "My date of birth is {dob}.", "DOB: {dob}", "I was born on {dob}.",
        "For security, DOB {dob}.",
    ),
    "name": ("My name is {full_name}.", "This is {full_name}.", "Account holder: {full_name}."),
}  # fmt: skip
_PII_WEIGHTS = {"email": 20, "phone": 18, "card": 14, "iban": 12, "ssn": 7, "dob": 9, "name": 20}

_GREETINGS = (
    "Hi", "Hello", "Hey", "Good morning", "Good afternoon", "Dear Sir or Madam", "Hi there",
    "Hello team", "To whom it may concern", "Dear Northbridge Bank", "Hiya", "Evening",
)  # fmt: skip
_OPENERS = (
    "I need some help.", "Quick question.", "I'm writing about my account.",
    "Hoping you can help.", "Not sure if this is the right place to ask.", "This is urgent.",
    "I've been trying to reach you by phone for ages.", "Sorry to bother you.",
    "I've been a customer for {years} years.",
)  # fmt: skip
_PREFIXES = (
    "I'm writing because ", "Just wanted to let you know that ", "Quick question: ",
    "Urgent: ", "So basically ", "Honestly ", "Hey so ",
)  # fmt: skip
_CLOSINGS = (
    "Thanks", "Thank you", "Thanks in advance", "Cheers", "Many thanks", "Regards",
    "Kind regards", "Appreciate your help", "Thx", "Best",
)  # fmt: skip
_EMOJIS = ("😡", "🙏", "😞", "😤", "🤔", "💳", "🏠", "😩", "🙂", "👍", "😕", "‼️")
_ABBREVIATIONS = {
    "please": ("pls", "plz"), "you": ("u",), "account": ("acct", "acc"), "thanks": ("thx",),
    "because": ("cos", "bc"), "I'm": ("im", "Im"), "can't": ("cant", "cannot"),
    "don't": ("dont",), "didn't": ("didnt",), "won't": ("wont",), "your": ("ur",),
}  # fmt: skip
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")

# --- composition and noise --------------------------------------------------------------


def _typo(rng: random.Random, word: str) -> str:
    i = rng.randrange(1, len(word) - 1)
    op = rng.randrange(4)
    if op == 0:  # swap neighbours
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op == 1:  # drop a letter
        return word[:i] + word[i + 1 :]
    if op == 2:  # double a letter
        return word[:i] + word[i] + word[i:]
    row = next((r for r in _KEYBOARD_ROWS if word[i] in r), None)
    if row is None:
        return word
    j = row.index(word[i])
    neighbour = row[j - 1] if j > 0 and (j == len(row) - 1 or rng.random() < 0.5) else row[j + 1]
    return word[:i] + neighbour + word[i + 1 :]


def _noisy_words(rng: random.Random, sentence: str, typos: int, abbreviate: bool) -> str:
    """Typos only in plain lowercase words, so names and PII stay intact."""
    words = sentence.split(" ")
    if abbreviate:
        for k, word in enumerate(words):
            options = _ABBREVIATIONS.get(word)
            if options and rng.random() < 0.6:
                words[k] = rng.choice(options)
    eligible = [k for k, w in enumerate(words) if len(w) >= 4 and w.isalpha() and w.islower()]
    for k in rng.sample(eligible, min(typos, len(eligible))):
        words[k] = _typo(rng, words[k])
    return " ".join(words)


def _decapitalize(template: str) -> str:
    if template.startswith(("{", "I ", "I'")):
        return template
    return template[0].lower() + template[1:]


def _sentences(rng: random.Random, f: _Filler, label: str, kind: str) -> list[str]:
    if kind == "short":
        return [f.fill(rng.choice(_SHORT[label]))]
    out: list[str] = []
    if rng.random() < 0.4:
        out.append(rng.choice(_GREETINGS) + rng.choice((",", "!", "", ",", " -")))
    core = rng.choice(_CORE[label])
    if rng.random() < 0.12:
        prefixes = ("Quick question: ", "Urgent: ") if core.endswith("?") else _PREFIXES
        core = rng.choice(prefixes) + _decapitalize(core)
    elif rng.random() < 0.2:
        out.append(f.fill(rng.choice(_OPENERS)))
    aside = ""
    if kind == "ambiguous":
        aside = f.fill(rng.choice(_ASIDE[rng.choice(_CONFUSABLE[label])]))
        if rng.random() < 0.5:  # the second intent as context, before the main request
            joint = rng.choice((".", ",", " and"))
            out.append(aside[0].upper() + aside[1:] + joint)
            core = core if joint == "." else _decapitalize(core)
            aside = ""
    out.append(f.fill(core))
    if aside:
        out.append(f"{f.fill('{connector}')} {aside.replace(' also ', ' ', 1)}.")
    if rng.random() < 0.4:
        out.append(f.fill(rng.choice(_DETAIL[label])))
    signoff_name = False
    if rng.random() < PII_RATE / (1 - SHORT_RATE):
        kinds = rng.choices(list(_PII_WEIGHTS), weights=list(_PII_WEIGHTS.values()), k=3)
        for pii in dict.fromkeys(kinds[: rng.choices((1, 2, 3), weights=(70, 25, 5))[0]]):
            if pii == "name" and rng.random() < 0.6:
                signoff_name = True
            else:
                out.append(f.fill(rng.choice(_PII_SENTENCES[pii])))
    if rng.random() < 0.35:
        out.append(f.fill(rng.choice(_ASK[label])))
    if signoff_name:
        name = f.fill(rng.choice(("{first}", "{full_name}")))
        out.append(rng.choice((f"{rng.choice(_CLOSINGS)}, {name}", f"- {name}", name)))
    elif rng.random() < 0.3:
        out.append(rng.choice(_CLOSINGS) + rng.choice(("", ".", "!", ",")))
    return out


def _compose(rng: random.Random, label: str, kind: str) -> str:
    sentences = _sentences(rng, _Filler(rng), label, kind)
    typos = rng.choice((1, 1, 2)) if rng.random() < 0.18 else 0
    abbreviate = rng.random() < 0.12
    casing = rng.choices(("as_is", "lower", "upper", "nocap"), weights=(82, 10, 3, 5))[0]
    parts: list[str] = []
    for sentence in sentences:
        s = _noisy_words(rng, sentence, typos, abbreviate) if typos or abbreviate else sentence
        typos = 0  # at most one sentence carries the typos
        if s.endswith(".") and rng.random() < 0.08:
            s = s[:-1] + rng.choice(("", "!!", "...", "!"))
        if casing == "lower":
            s = s.lower()
        elif casing == "upper":
            s = s.upper()
        elif casing == "nocap":
            s = s[:1].lower() + s[1:]
        parts.append(s)
    text = parts[0]
    for part in parts[1:]:
        gap = " "
        if rng.random() < 0.06:
            gap = rng.choice(("  ", "\n", "\n\n", " \u00a0", "\t", "   "))
        text += gap + part
    if rng.random() < 0.06:
        text += rng.choice(("", " ", " ")) + rng.choice(_EMOJIS) * rng.choice((1, 1, 2))
    if rng.random() < 0.04:
        text = rng.choice((" ", "  ", "\n")) + text
    if rng.random() < 0.04:
        text += rng.choice((" ", "  ", "\n", " \n"))
    return text


def generate_messages(n: int, *, seed: int = 0) -> pd.DataFrame:
    """``n`` labelled messages: columns ``message_id``, ``text``, ``true_label``.

    The same seed always gives the same frame. About 1.5% of rows are exact duplicates
    of another row; otherwise no two normalized texts are equal.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(seed)
    labels = list(CLASSES)
    n_dup = round(DUPLICATE_RATE * n) if n >= 2 else 0
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(rows) < n - n_dup:
        label = rng.choices(labels, weights=_CLASS_WEIGHTS)[0]
        r = rng.random()
        kind = "short" if r < SHORT_RATE else "ambiguous" if r < SHORT_RATE + AMBIGUOUS_RATE else ""
        for _ in range(50):
            text = _compose(rng, label, kind or "normal")
            if normalize_text(text) not in seen:
                break
            kind = "normal" if kind == "short" else kind  # short pools are small
        else:  # pragma: no cover - fifty collisions in a row do not happen in practice
            continue
        seen.add(normalize_text(text))
        rows.append((text, label))
    rows += [rows[rng.randrange(len(rows))] for _ in range(n_dup)]
    rng.shuffle(rows)
    width = max(6, len(str(n)))
    return pd.DataFrame(
        {
            "message_id": [f"msg-{i:0{width}d}" for i in range(1, n + 1)],
            "text": [text for text, _ in rows],
            "true_label": [label for _, label in rows],
        }
    )


# --- corpus files and simulated reviewer ------------------------------------------------

_BATCH_SUFFIXES = (".csv", ".jsonl", ".parquet")


@dataclass(frozen=True)
class CorpusFiles:
    """Where :func:`write_corpus` put things."""

    inbox: Path
    batch_files: tuple[Path, ...]
    truth_csv: Path
    n_messages: int
    n_bad_rows: int


def _bad_rows(batch: int, overlong: bool) -> pd.DataFrame:
    texts = ["", " \t  "]
    if overlong:
        texts.append("Please see the full statement history below. " * 500)  # > 20,000 chars
    ids = [f"bad-{batch:03d}-{k}" for k in range(1, len(texts) + 1)]
    return pd.DataFrame({"message_id": ids, "text": texts})


def write_corpus(
    out_dir: Path,
    *,
    n: int = 5000,
    n_batches: int = 5,
    seed: int = 0,
    bad_rows: bool = True,
    inbox: Path | None = None,
) -> CorpusFiles:
    """Write ``n`` messages as ``n_batches`` source files into ``inbox`` and the truth.

    ``inbox`` defaults to ``out_dir/inbox``; ``truth.csv`` goes to ``out_dir``. Batch files
    are ``batch_001.csv``, ``batch_002.jsonl``, ... alternating CSV and JSONL, the last one
    Parquet (when there are at least two). Earlier ``batch_*`` files in the inbox are removed
    first. With ``bad_rows`` each CSV batch also gets an empty and a
    whitespace-only text, and the first one a text over 20,000 characters; those rows are
    not in ``truth.csv`` (``message_id,text,true_label``).
    """
    if n_batches < 1 or n < n_batches:
        raise ValueError(f"need 1 <= n_batches <= n, got n={n}, n_batches={n_batches}")
    out_dir = Path(out_dir)
    inbox = Path(inbox) if inbox is not None else out_dir / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    for old in inbox.glob("batch_*"):
        if old.suffix in _BATCH_SUFFIXES and old.is_file():
            old.unlink()
    messages = generate_messages(n, seed=seed)
    rng = np.random.default_rng(seed)
    files: list[Path] = []
    n_bad = 0
    for i, chunk in enumerate(np.array_split(np.arange(n), n_batches), start=1):
        frame = messages.iloc[chunk][["message_id", "text"]].reset_index(drop=True)
        fmt = "parquet" if i == n_batches > 1 else ("csv", "jsonl")[(i - 1) % 2]
        path = inbox / f"batch_{i:03d}.{fmt}"
        if fmt == "csv":
            if bad_rows:
                bad = _bad_rows(i, overlong=i == 1)
                n_bad += len(bad)
                frame = pd.concat([frame, bad], ignore_index=True)
                frame = frame.iloc[rng.permutation(len(frame))]
            frame.to_csv(path, index=False)
        elif fmt == "jsonl":
            lines = (json.dumps(r, ensure_ascii=False) for r in frame.to_dict("records"))
            path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        else:
            frame.to_parquet(path, index=False)
        files.append(path)
    truth_csv = out_dir / "truth.csv"
    messages.to_csv(truth_csv, index=False)
    return CorpusFiles(inbox, tuple(files), truth_csv, n, n_bad)


def simulate_reviews(
    queue_csv: Path,
    truth: pd.DataFrame,
    out_csv: Path,
    *,
    error_rate: float = 0.02,
    seed: int = 0,
    reviewers: tuple[str, ...] = ("alice", "bob"),
) -> pd.DataFrame:
    """Answer a review queue from the truth, wrong on a random ``error_rate`` share of items.

    Queue rows are matched to ``truth`` (columns ``text``, ``true_label``) by item id of
    the normalized text. Writes ``out_csv`` with header ``item_id,label,reviewer``.
    """
    if not 0.0 <= error_rate <= 1.0:
        raise ValueError(f"error_rate must be in [0, 1], got {error_rate}")
    if not reviewers:
        raise ValueError("reviewers must not be empty")
    queue = pd.read_csv(queue_csv, dtype=str, keep_default_na=False)
    by_id: dict[str, str] = {}
    for text, label in zip(truth["text"], truth["true_label"], strict=True):
        by_id.setdefault(text_item_id(normalize_text(str(text))), str(label))
    labels: list[str] = []
    missing: list[str] = []
    for item_id, text in zip(queue["item_id"], queue["text"], strict=True):
        label = by_id.get(text_item_id(normalize_text(text))) or by_id.get(item_id)
        if label is None:
            missing.append(item_id)
        labels.append(label or "")
    if missing:
        raise ValueError(f"{len(missing)} queue item(s) not in the truth, e.g. {missing[:5]}")
    classes = sorted(set(by_id.values()))
    if len(classes) < 2:
        classes = list(dict.fromkeys([*classes, *CLASSES]))
    rng = np.random.default_rng(seed)
    n = len(labels)
    for k in rng.choice(n, size=round(error_rate * n), replace=False) if n else []:
        labels[k] = str(rng.choice([c for c in classes if c != labels[k]]))
    reviews = pd.DataFrame(
        {
            "item_id": queue["item_id"].astype(str),
            "label": labels,
            "reviewer": [reviewers[k] for k in rng.integers(0, len(reviewers), size=n)],
        }
    )
    out_csv = Path(out_csv)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    reviews.to_csv(out_csv, index=False)
    return reviews
