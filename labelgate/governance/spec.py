"""The ``governance`` section of a project file.

```yaml
governance:
  ledger_url: postgresql://postgres@127.0.0.1:5432/labelgate   # default: SQLite beside the tables
  identities: identities.yaml    # who may approve (env LABELGATE_IDENTITIES overrides)
  pii: redact                    # redact | refuse | off: what happens to PII in text leaving
  anchor_file: /worm/complaints.anchors.jsonl  # signed ledger heads (env LABELGATE_ANCHOR_FILE)
  anchor_key: /run/secrets/anchor.pem          # Ed25519 key, created on first use
                                               # (env LABELGATE_ANCHOR_KEY)
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
    # Where the signed ledger heads go and the key that signs them (labelgate.ledger.anchor);
    # default: {project_dir}/anchors/ledger_anchors.jsonl and {project_dir}/keys/.
    anchor_file: Path | None = None
    anchor_key: Path | None = None

    def resolved(self, base_dir: Path) -> "GovernanceSpec":
        """Relative paths resolved against the project file's folder."""
        update = {
            name: (base_dir / value).resolve()
            for name in ("identities", "anchor_file", "anchor_key")
            if (value := getattr(self, name)) is not None and not value.is_absolute()
        }
        return self.model_copy(update=update) if update else self
