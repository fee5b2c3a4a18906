"""Printing what the CLI tells the user without Rich reading it as markup.

Rich treats ``[a-z]`` in a string as a style tag and drops it, so an error such as
``String should match pattern '^[a-z][a-z0-9_]{0,62}$'`` would lose its character classes.
Anything that comes from outside the CLI's own literals (exception messages, paths, reasons,
item ids, reviewer names) goes through :func:`literal` or :func:`fail`.
"""

from collections.abc import Callable
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from labelgate.pii import RedactionReport

err = Console(stderr=True)


def literal(value: object) -> str:
    """``value`` escaped for interpolation into a Rich markup string (followed by more
    markup or text), so it prints exactly as it is."""
    return escape(str(value))


def error_text(message: str) -> Text:
    """``error: <message>`` with the message as plain text, never parsed as markup."""
    return Text.assemble(("error:", "bold red"), " ", str(message))


def fail(message: str, code: int = 2, *, console: Console | None = None) -> NoReturn:
    """Print ``error: <message>`` on stderr, literally, and exit with ``code``."""
    (console or err).print(error_text(message), highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def step_printer(console: Console) -> Callable[[str], None]:
    """Print each step a long command reports as a dim ``·`` line, the text literally."""
    return lambda text: console.print(f"[dim]·[/] {literal(text)}")


def redaction_line(report: RedactionReport) -> str:
    """``PII: 3 cells redacted (EMAIL: 2, PHONE: 1)``, or that none were."""
    if not report.texts:
        return "PII: 0 cells redacted"
    kinds = ", ".join(f"{kind}: {n}" for kind, n in report.as_dict().items())
    return f"PII: {report.texts} cell(s) redacted ({kinds})"
