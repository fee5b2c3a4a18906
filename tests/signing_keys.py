"""The demo identities' signing keys (``projects/identities/demo_keys``), for tests."""

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from labelgate.governance.signing import load_private_key
from tests.conftest import REPO

DEMO_KEYS = REPO / "projects" / "identities" / "demo_keys"


def demo_key(name: str) -> Ed25519PrivateKey:
    return load_private_key(DEMO_KEYS / f"{name}.pem")
