"""Runs that a killed ``labelgate`` process left STARTED are marked failed at the next run.

Every run the CLI executes in-process is tagged with the host and process id that runs it.
A run still STARTED (or STARTING) whose process on this host no longer exists can never
finish: :func:`fail_orphaned_runs` reports it failed, so the instance and the UI tell the
truth. Runs of other hosts or without the tags (launched by a daemon) are left to Dagster's
own run monitoring.
"""

import os

import dagster as dg

from labelgate.storage import owner_tag

OWNER_TAG = "labelgate/owner"  # "{host}~{pid}" of the process executing the run
_LIVE = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING]


def run_tags() -> dict[str, str]:
    """Tags for a run this process executes in-process."""
    return {OWNER_TAG: owner_tag()}


def _process_gone(owner: str) -> bool:
    host, _, pid = owner.rpartition("~")
    mine, _, _ = owner_tag().rpartition("~")
    if host != mine or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def fail_orphaned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed every live-looking run whose executing process is gone; their ids."""
    failed = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=_LIVE)):
        owner = run.tags.get(OWNER_TAG)
        if owner and _process_gone(owner):
            message = f"the process {owner} running it was killed; marked failed by labelgate"
            instance.report_run_failed(run, message=message)
            failed.append(run.run_id)
    return failed
