"""The demo's last step: four-eyes approval of the newest label set, then its release."""

from collections.abc import Callable

import dagster as dg

from labelgate.governance.approval import ApprovalRefused, decide
from labelgate.governance.verify import verify_project
from labelgate.label_sets import LabelSet, LabelSetStore
from labelgate.ledger import Ledger
from labelgate.spec import ProjectSpec
from labelgate_cli.governance_runs import run_decision, run_release

DEMO_REVIEWER = "alice"  # answered the simulated review queue
DEMO_STEWARD = "dana"  # a steward who reviewed nothing


def approve_and_release(
    spec: ProjectSpec,
    *,
    instance: dg.DagsterInstance,
    on_step: Callable[[str], None] = lambda _: None,
) -> LabelSet | None:
    """A reviewer's approval is refused (and logged); the steward's goes through the Dagster
    decision job; the approved set is released with PII redacted. Prints the datasheet and
    the ledger head."""
    latest = LabelSetStore(spec).latest(status=None)
    if latest is None:
        on_step("no label set yet: nothing accepted, nothing to approve")
        return None
    try:
        decide(spec, latest.version, actor=DEMO_REVIEWER)
    except ApprovalRefused as exc:
        on_step(str(exc))
    else:
        raise RuntimeError(f"{DEMO_REVIEWER} reviewed this set; the approval must be refused")
    approved = run_decision(spec, latest.version, as_name=DEMO_STEWARD, instance=instance)
    if not approved.success:
        raise RuntimeError(f"steward {DEMO_STEWARD} could not approve v{latest.version}")
    path, redactions = run_release(spec, instance=instance)
    label_set = LabelSetStore(spec).get(latest.version)
    verified = verify_project(spec)
    on_step(f"label set v{label_set.version} approved by steward {DEMO_STEWARD}")
    on_step(f"released {path} (PII redacted: {sum(redactions.values())} {redactions})")
    on_step(f"datasheet: {label_set.datasheet_path}")
    status = "ok" if verified.ok else f"FAILED: {verified.first_bad}"
    head = Ledger.for_project(spec).head()
    on_step(f"ledger head: {head} ({verified.rows} rows, verify {status})")
    return label_set
