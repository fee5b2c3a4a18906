"""Governance work run through Dagster (so the UI and the blocking checks see it)."""

from pathlib import Path

import dagster as dg

from assets.label_sets import LABEL_EXPORT
from labelgate.governance.signing import SignedDecision
from labelgate.spec import ProjectSpec
from labelgate_cli.runner import RunFailed, _execute, project_definitions
from resources.encoder import TextEncoderResource


def run_release(
    spec: ProjectSpec,
    *,
    instance: dg.DagsterInstance,
    fmt: str = "parquet",
    out_dir: Path | None = None,
) -> tuple[Path, dict[str, int]]:
    """Run the release job; returns the file and the redactions by type."""
    defs = project_definitions(spec, TextEncoderResource(kind="hashing"))
    config = {"format": fmt, "out_dir": None if out_dir is None else str(out_dir.resolve())}
    op = f"{spec.name}__{LABEL_EXPORT}"
    result = _execute(
        defs, f"{spec.name}__release", instance, run_config={"ops": {op: {"config": config}}}
    )
    failed = [c for c in result.get_asset_check_evaluations() if not c.passed]
    if failed:
        raise RunFailed("; ".join(f"{c.check_name}: {c.description}" for c in failed))
    event = instance.get_latest_materialization_event(dg.AssetKey([spec.name, LABEL_EXPORT]))
    assert event is not None and event.asset_materialization is not None
    metadata = event.asset_materialization.metadata
    return Path(str(metadata["path"].value)), dict(metadata["redactions"].value)  # type: ignore[arg-type]


# Decision and trace runs report their outcome themselves (a refusal is expected in the
# demo): the console logger would print Dagster's stack trace of a refused decision.
QUIET = "CRITICAL"


def run_decision(
    spec: ProjectSpec,
    signed: SignedDecision | None,
    *,
    instance: dg.DagsterInstance,
    as_name: str | None = None,
    version: int | None = None,
) -> dg.ExecuteInProcessResult:
    """The decision job with the signed decision in its run config (signature and signed_at
    fields, as pasted into the Dagster UI's launchpad); ``signed=None`` sends an unsigned
    decision by ``as_name`` on ``version``, which the job refuses."""
    defs = project_definitions(spec, TextEncoderResource(kind="hashing"))
    op = f"{spec.name}__label_set_decision"
    if signed is not None:
        statement = signed.statement
        config = {
            "version": f"v{statement.version}",
            "as_name": statement.signer,
            "decision": statement.decision,
            "reason": statement.reason,
            "signature": signed.signature,
            "signed_at": statement.signed_at,
        }
    else:
        config = {"version": f"v{version}", "as_name": as_name}
    job = defs.resolve_job_def(f"{spec.name}__decide_label_set")
    run_config = {
        "ops": {op: {"config": config}},
        "loggers": {"console": {"config": {"log_level": QUIET}}},
    }
    return job.execute_in_process(instance=instance, run_config=run_config, raise_on_error=False)


def run_trace(
    spec: ProjectSpec, item_id: str, *, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    """The trace job for ``item_id``, as the launchpad would run it."""
    defs = project_definitions(spec, TextEncoderResource(kind="hashing"))
    job = defs.resolve_job_def(f"{spec.name}__trace_item")
    op = f"{spec.name}__item_trace"
    run_config = {
        "ops": {op: {"config": {"item_id": item_id}}},
        "loggers": {"console": {"config": {"log_level": QUIET}}},
    }
    return job.execute_in_process(instance=instance, run_config=run_config, raise_on_error=False)
