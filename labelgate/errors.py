"""Errors a user can act on. Each names the file, field or rows at fault."""


class LabelgateError(Exception):
    """Base class for errors raised on bad user input."""


class ProjectSpecError(LabelgateError):
    """The project YAML file is missing, unreadable or has an invalid field."""


class SourceError(LabelgateError):
    """The configured source folder or a source file cannot be read at all."""


class ReviewFileError(LabelgateError):
    """A review file was refused as a whole; ``bad_rows`` lists every offending row."""

    def __init__(self, path: str, bad_rows: list[tuple[int | str, str]]) -> None:
        self.path = path
        self.bad_rows = bad_rows
        shown = "\n".join(f"  row {row}: {reason}" for row, reason in bad_rows[:50])
        more = f"\n  ... and {len(bad_rows) - 50} more" if len(bad_rows) > 50 else ""
        super().__init__(
            f"review file {path} refused, nothing was imported; {len(bad_rows)} bad row(s):\n"
            f"{shown}{more}"
        )
