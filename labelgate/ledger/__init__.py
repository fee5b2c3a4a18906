"""The audit ledger: every event of a project as a hash-chained, append-only row."""

from labelgate.ledger.core import (
    LEDGER_URL_ENV,
    Commit,
    Ledger,
    LedgerError,
    LedgerEvent,
    LedgerRow,
    LedgerTransaction,
    VerifyResult,
    dispose_engines,
    ledger_url,
)

__all__ = [
    "LEDGER_URL_ENV",
    "Commit",
    "Ledger",
    "LedgerError",
    "LedgerEvent",
    "LedgerRow",
    "LedgerTransaction",
    "VerifyResult",
    "dispose_engines",
    "ledger_url",
]
