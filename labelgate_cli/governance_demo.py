"""The demo's last step: a signed four-eyes approval of the newest label set, then its
release, and where to see each in the Dagster UI (``make ui``)."""

from collections.abc import Callable
from pathlib import Path

import dagster as dg

from labelgate.governance.approval import sign_decision
from labelgate.governance.signing import load_private_key
from labelgate.governance.verify import verify_project
from labelgate.label_sets import LabelSet, LabelSetStore
from labelgate.ledger import Ledger
from labelgate.spec import ProjectSpec
from labelgate_cli.governance_runs import run_decision, run_release, run_trace

DEMO_REVIEWER = "alice"  # answered the simulated review queue
DEMO_STEWARD = "dana"  # a steward who reviewed nothing
# The demo identities' private keys (demo only: a real steward keeps theirs off the server).
DEMO_KEYS = Path(__file__).resolve().parent.parent / "projects" / "identities" / "demo_keys"
UI = "http://127.0.0.1:3000"  # where `make ui` serves the Dagster UI


def approve_and_release(
    spec: ProjectSpec,
    *,
    instance: dg.DagsterInstance,
    on_step: Callable[[str], None] = lambda _: None,
) -> LabelSet | None:
    """A reviewer's signed approval is refused (and logged); the steward's signed decision
    goes through the Dagster decision job; the approved set is released with PII redacted;
    one item is traced. Prints the datasheet, the ledger head and where the UI shows them."""
    latest = LabelSetStore(spec).latest(status=None)
    if latest is None:
        on_step("no label set yet: nothing accepted, nothing to approve")
        return None
    attempt = sign_decision(spec, latest.version, actor=DEMO_REVIEWER, key=_key(DEMO_REVIEWER))
    refused = run_decision(spec, attempt, instance=instance)  # a failed run in the UI
    if refused.success:
        raise RuntimeError(f"{DEMO_REVIEWER} reviewed this set; the approval must be refused")
    on_step(f"refused (run {refused.run_id[:8]}): {refusal_reason(refused)}")
    signed = sign_decision(
        spec,
        latest.version,
        actor=DEMO_STEWARD,
        key=_key(DEMO_STEWARD),
        reason="demo: datasheet and gate evidence checked",
    )
    approved = run_decision(spec, signed, instance=instance)
    if not approved.success:
        raise RuntimeError(f"steward {DEMO_STEWARD} could not approve v{latest.version}")
    path, redactions = run_release(spec, instance=instance)
    label_set = LabelSetStore(spec).get(latest.version)
    item_id = str(label_set.labels()["item_id"].iloc[0])
    traced = run_trace(spec, item_id, instance=instance)
    verified = verify_project(spec)
    on_step(
        f"label set v{label_set.version} approved by steward {DEMO_STEWARD}, signed with "
        f"{DEMO_KEYS / (DEMO_STEWARD + '.pem')} ({signed.signature[:20]}…)"
    )
    on_step(f"released {path} (PII redacted: {sum(redactions.values())} {redactions})")
    on_step(f"datasheet: {label_set.datasheet_path}")
    status = "ok" if verified.ok else f"FAILED: {verified.first_bad}"
    head = Ledger.for_project(spec).head()
    on_step(f"ledger head: {head} ({verified.rows} rows, verify {status})")
    for line in ui_pointers(spec, approved.run_id, traced.run_id):
        on_step(line)
    return label_set


def refusal_reason(result: dg.ExecuteInProcessResult) -> str:
    """The one-line reason a decision run failed with."""
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            return data.user_failure_data.description
        return data.error.message.strip() if data.error else "unknown failure"
    return "the run did not fail"


def _key(name: str):
    return load_private_key(DEMO_KEYS / f"{name}.pem")


def ui_pointers(spec: ProjectSpec, decision_run: str, trace_run: str) -> list[str]:
    """Where `make ui` shows the signed approval, the trace job and the gate check."""
    name = spec.name
    return [
        f"in `make ui` ({UI}): the signed approval is run {decision_run[:8]} of job "
        f"{name}__decide_label_set ({UI}/runs/{decision_run}; tags labelgate/signed_by) and "
        f"the status on asset {name}/label_set ({UI}/assets/{name}/label_set)",
        f"  the trace of an item is run {trace_run[:8]} of job {name}__trace_item "
        f"({UI}/runs/{trace_run}); launch it for any item id from the launchpad",
        f"  the gate is the check gate on {name}/accepted_labels "
        f"({UI}/assets/{name}/accepted_labels?view=checks)",
    ]
