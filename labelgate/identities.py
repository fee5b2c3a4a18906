"""Who is who: identities and their roles, from a YAML file.

```yaml
identities:
  - {name: carol, roles: [steward]}
  - {name: alice, roles: [reviewer]}
```

``public_key`` (``ed25519:<base64>``, printed by ``labelgate keygen --as NAME``) is the key
that must sign the identity's decisions on label sets; ``retired_keys`` lists earlier keys,
so decisions signed before a rotation still verify (see ``labelgate.governance.signing``).

The file is named by env ``LABELGATE_IDENTITIES`` or the project's
``governance.identities``. Only an identity with the ``steward`` role may approve or reject a
label set.
"""

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from labelgate.errors import LabelgateError

if TYPE_CHECKING:
    from labelgate.spec import ProjectSpec

IDENTITIES_ENV = "LABELGATE_IDENTITIES"
STEWARD = "steward"
ROLES = ("steward", "reviewer", "engineer", "auditor")


class IdentityError(LabelgateError):
    """The identities file is missing, malformed, or does not know a name."""


class Identity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=200)]
    roles: tuple[str, ...] = ()
    email: str | None = None
    public_key: str | None = None  # ed25519:<base64>; signs this identity's decisions
    retired_keys: tuple[str, ...] = ()  # earlier public keys: old signatures still verify

    def has_role(self, role: str) -> bool:
        return role in self.roles


class _IdentitiesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identities: list[Identity]


class Identities:
    def __init__(self, identities: list[Identity], source: Path) -> None:
        self.source = source
        self._by_name = {i.name: i for i in identities}

    def get(self, name: str) -> Identity | None:
        return self._by_name.get(name)

    def names(self) -> list[str]:
        return sorted(self._by_name)


def load_identities_file(path: Path) -> Identities:
    if not path.is_file():
        raise IdentityError(f"identities file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        parsed = _IdentitiesFile.model_validate(data)
    except yaml.YAMLError as exc:
        raise IdentityError(f"identities file {path} is not valid YAML: {exc}") from None
    except ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in exc.errors()
        )
        raise IdentityError(f"identities file {path} is invalid: {where}") from None
    names = [i.name for i in parsed.identities]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise IdentityError(f"identities file {path}: duplicate names {duplicated}")
    for identity in parsed.identities:
        unknown = sorted(set(identity.roles) - set(ROLES))
        if unknown:
            raise IdentityError(
                f"identities file {path}: {identity.name} has unknown role(s) {unknown}; "
                f"roles are {list(ROLES)}"
            )
        for line in (identity.public_key, *identity.retired_keys):
            if line is not None:
                _check_public_key(path, identity.name, line)
    return Identities(parsed.identities, path)


def _check_public_key(path: Path, name: str, line: str) -> None:
    from labelgate.governance.signing import SigningError, parse_public_key

    try:
        parse_public_key(line)
    except SigningError as exc:
        raise IdentityError(f"identities file {path}: {name}: {exc}") from None


def identities_path(spec: "ProjectSpec") -> Path | None:
    from_env = os.environ.get(IDENTITIES_ENV)
    if from_env:
        return Path(from_env)
    return spec.governance.identities


def load_identities(spec: "ProjectSpec") -> Identities:
    path = identities_path(spec)
    if path is None:
        raise IdentityError(
            f"project {spec.name} names no identities file: set governance.identities in "
            f"the project file or the env {IDENTITIES_ENV}"
        )
    return load_identities_file(path)
