"""The kinds of personal data the PII gate finds, and a finding (a kind over a text span)."""

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
