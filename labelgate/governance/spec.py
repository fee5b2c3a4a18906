"""The ``governance`` section of a project file.

```yaml
governance:
  ledger_url: postgresql://postgres@127.0.0.1:5432/labelgate   # default: SQLite beside the tables
  identities: identities.yaml    # who may approve (env LABELGATE_IDENTITIES overrides)
  pii: redact                    # redact | refuse | off: what happens to PII in text leaving
```
"""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

PIIPolicy = Literal["redact", "refuse", "off"]


class GovernanceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ledger_url: str | None = None
    identities: Path | None = None
    pii: PIIPolicy = "redact"

    def resolved(self, base_dir: Path) -> "GovernanceSpec":
        """Relative paths resolved against the project file's folder."""
        if self.identities is None or self.identities.is_absolute():
            return self
        return self.model_copy(update={"identities": (base_dir / self.identities).resolve()})
