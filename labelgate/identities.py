"""Who is who: identities and their roles, from a YAML file.

```yaml
identities:
  - {name: carol, roles: [steward]}
  - {name: alice, roles: [reviewer], emails: [alice@bank.example], ids: [7]}
```

``public_key`` (``ed25519:<base64>``, printed by ``labelgate keygen --as NAME``) is the key
that must sign the identity's decisions on label sets; ``retired_keys`` lists earlier keys,
so decisions signed before a rotation still verify (see ``labelgate.governance.signing``).

The file is named by env ``LABELGATE_IDENTITIES`` or the project's
``governance.identities``. Only an identity with the ``steward`` role may approve or reject a
label set. The project pins the file in force in its ledger
(``labelgate.governance.identities_pin``).

A name as written in a review file *resolves* to an identity (``Identities.resolve``) by its
name, or by an e-mail or id the identity lists, compared after :func:`fold` (Unicode NFKC,
zero-width / bidi / other invisible characters removed, case folded). A name that only
*looks like* an identity (Cyrillic or Greek look-alike letters, see :func:`skeleton`) is
refused, as is any name with control characters, a formula prefix or over
``MAX_NAME_LENGTH`` characters (:func:`name_problem`).
"""

import hashlib
import os
import unicodedata
from collections.abc import Callable
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


MAX_NAME_LENGTH = 64
_FORMULA_PREFIXES = ("=", "+", "-", "@")
# Invisible letters that are not category Cf (format) but render as nothing.
_INVISIBLE = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u034f"}
# Cyrillic and Greek letters (after case folding) that look like a Latin letter or digit.
_CONFUSABLES = str.maketrans(
    {
        **dict.fromkeys("аɑα", "a"),
        **dict.fromkeys("вβ", "b"),
        **dict.fromkeys("сϲ", "c"),
        **dict.fromkeys("ԁ", "d"),
        **dict.fromkeys("еεѐё", "e"),
        **dict.fromkeys("һн", "h"),
        **dict.fromkeys("іїιɩ1ӏ|", "i"),
        **dict.fromkeys("јϳ", "j"),
        **dict.fromkeys("кκ", "k"),
        **dict.fromkeys("l", "i"),
        **dict.fromkeys("мμ", "m"),
        **dict.fromkeys("ηп", "n"),
        **dict.fromkeys("оοσ0", "o"),
        **dict.fromkeys("рρ", "p"),
        **dict.fromkeys("ԛ", "q"),
        **dict.fromkeys("гᴦ", "r"),
        **dict.fromkeys("ѕ", "s"),
        **dict.fromkeys("тτ", "t"),
        **dict.fromkeys("υս", "u"),
        **dict.fromkeys("νѵ", "v"),
        **dict.fromkeys("ԝѡω", "w"),
        **dict.fromkeys("хχ", "x"),
        **dict.fromkeys("уγү", "y"),
        **dict.fromkeys("ζ", "z"),
    }
)


def _invisible(char: str) -> bool:
    category = unicodedata.category(char)
    return category == "Cf" or char in _INVISIBLE or "\ufe00" <= char <= "\ufe0f"


def clean(text: str) -> str:
    """NFKC with invisible characters (zero-width, bidi controls, variation selectors)
    removed and surrounding white space stripped; case kept."""
    normal = unicodedata.normalize("NFKC", text)
    return "".join(c for c in normal if not _invisible(c)).strip()


def fold(text: str) -> str:
    """The form names are compared in: :func:`clean`, then case folded (and NFKC again)."""
    return unicodedata.normalize("NFKC", clean(text).casefold())


def skeleton(text: str) -> str:
    """:func:`fold` with look-alike letters mapped to one Latin letter, so ``еrin``
    (Cyrillic е) and ``erin`` share a skeleton."""
    return fold(text).translate(_CONFUSABLES)


def name_problem(text: str) -> str | None:
    """Why ``text`` cannot be a reviewer or identity name (None when it can)."""
    controls = sorted({f"U+{ord(c):04X}" for c in text if unicodedata.category(c) == "Cc"})
    if controls:
        return f"reviewer {text!r} contains control character(s) {', '.join(controls)}"
    cleaned = clean(text)
    if not cleaned:
        return f"reviewer {text!r} is empty once invisible characters are removed"
    if cleaned.startswith(_FORMULA_PREFIXES):
        return f"reviewer {text!r} starts with {cleaned[0]!r} (a spreadsheet formula prefix)"
    if len(cleaned) > MAX_NAME_LENGTH:
        return f"reviewer name has {len(cleaned)} characters, more than {MAX_NAME_LENGTH}"
    return None


def safe_name(text: str) -> str:
    """``text`` cleaned (:func:`clean`); raises ``IdentityError`` naming the problem."""
    problem = name_problem(text)
    if problem:
        raise IdentityError(problem)
    return clean(text)


# Maps a reviewer as written in a file to the name to store; raises IdentityError.
ReviewerResolver = Callable[[str], str]


class Identity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)]
    roles: tuple[str, ...] = ()
    email: str | None = None
    # Other spellings a review tool may use for this person: e-mails, user ids.
    emails: tuple[str, ...] = ()
    ids: tuple[str | int, ...] = ()
    public_key: str | None = None  # ed25519:<base64>; signs this identity's decisions
    retired_keys: tuple[str, ...] = ()  # earlier public keys: old signatures still verify

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def aliases(self) -> list[str]:
        """Name, e-mails and ids, each as a string."""
        found = [self.name, *([self.email] if self.email else []), *self.emails]
        return found + [str(i) for i in self.ids]


class _IdentitiesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identities: list[Identity]


class Identities:
    def __init__(self, identities: list[Identity], source: Path, sha256: str = "") -> None:
        self.source = source
        self.sha256 = sha256  # of the file's bytes; what the project pins
        self._by_name = {i.name: i for i in identities}
        self._by_alias = {fold(a): i for i in identities for a in i.aliases()}
        self._by_skeleton = {skeleton(a): i for i in identities for a in i.aliases()}

    def get(self, name: str) -> Identity | None:
        """The identity ``name`` resolves to, or None (see :meth:`resolve`)."""
        try:
            return self.resolve(name)
        except IdentityError:
            return None

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def members(self) -> list[Identity]:
        """Every identity, by name."""
        return [self._by_name[n] for n in sorted(self._by_name)]

    def resolve(self, written: str) -> Identity:
        """The identity a name, e-mail or id as written in a file stands for; raises
        ``IdentityError`` naming why it stands for none."""
        safe_name(written)
        found = self._by_alias.get(fold(written))
        if found is not None:
            return found
        look_alike = self._by_skeleton.get(skeleton(written))
        if look_alike is not None:
            raise IdentityError(
                f"reviewer {written!r} looks like identity {look_alike.name!r} but is not it "
                "(look-alike characters from another script)"
            )
        raise IdentityError(
            f"reviewer {written!r} is not in the identities file {self.source} "
            "(not a name, e-mail or id listed there)"
        )

    def resolver(self) -> ReviewerResolver:
        """Resolve a reviewer to the canonical identity name."""
        return lambda written: self.resolve(written).name

    def owner(self, stored: str) -> str:
        """Whom a stored reviewer name counts as for four-eyes: the identity it resolves to
        or looks like, else its folded form (so ``ERIN`` and ``еrin`` count as erin)."""
        found = self._by_alias.get(fold(stored)) or self._by_skeleton.get(skeleton(stored))
        return found.name if found is not None else fold(stored)


def load_identities_file(path: Path) -> Identities:
    if not path.is_file():
        raise IdentityError(f"identities file {path} does not exist")
    try:
        raw = path.read_bytes()
        data = yaml.safe_load(raw.decode("utf-8"))
        parsed = _IdentitiesFile.model_validate(data)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
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
    _check_spellings(path, parsed.identities)
    return Identities(parsed.identities, path, hashlib.sha256(raw).hexdigest())


def _check_spellings(path: Path, identities: list[Identity]) -> None:
    """Every name is a safe name, and no two aliases fold or look alike to the same text."""
    seen: dict[str, str] = {}
    for identity in identities:
        problem = name_problem(identity.name)
        if problem:
            raise IdentityError(f"identities file {path}: {problem}")
        for alias in set(identity.aliases()):
            for key in {f"fold:{fold(alias)}", f"look:{skeleton(alias)}"}:
                other = seen.setdefault(key, identity.name)
                if other != identity.name:
                    raise IdentityError(
                        f"identities file {path}: {alias!r} of {identity.name} and an alias of "
                        f"{other} are the same name once case, width and look-alike letters "
                        "are ignored"
                    )


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
