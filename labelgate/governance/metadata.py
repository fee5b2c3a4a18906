"""The governance facts every asset materialization reports: ledger head, label-set version."""

from typing import TYPE_CHECKING, Any

from labelgate.label_sets import LabelSetStore
from labelgate.ledger import Ledger

if TYPE_CHECKING:
    from labelgate.spec import ProjectSpec

LEDGER_HEAD_KEY = "labelgate/ledger_head"
LABEL_SET_VERSION_KEY = "labelgate/label_set_version"


def governance_metadata(spec: "ProjectSpec") -> dict[str, Any]:
    """Ledger head hash and the latest label-set version (0 before the first)."""
    ledger = Ledger.for_project(spec)
    latest = LabelSetStore(spec, ledger).latest(status=None)
    return {
        LEDGER_HEAD_KEY: ledger.head(),
        LABEL_SET_VERSION_KEY: latest.version if latest is not None else 0,
    }
