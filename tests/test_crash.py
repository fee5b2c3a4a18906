"""kill -9 of `labelgate run` in the middle of writing labels, then a re-run: the ledger
verifies and no label is lost or duplicated.

The run is a real subprocess. ``LABELGATE_CRASH_TEST_DELAY`` (test-only, see
``labelgate.ledger.commit``) makes it sleep after each written chunk and between the ledger
commit and the file rename, so the kill lands in the worst place: label rows committed,
label file not yet in place.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from labelgate.governance.verify import verify_project
from labelgate.ledger import Ledger
from labelgate.ledger.commit import CRASH_TEST_DELAY_ENV
from labelgate.ledger.events import LABEL_PROPOSED
from labelgate.project import ACCEPTED_LABELS, CANDIDATE_LABELS, RAW_ITEMS, ProjectData
from labelgate.spec import ProjectSpec
from tests.conftest import REPO
from tests.test_governance import assert_ledger_matches_labels

pytestmark = pytest.mark.slow


def _run(project: ProjectSpec, home: Path, delay: float) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        CRASH_TEST_DELAY_ENV: str(delay),
        "LABELGATE_LOG_LEVEL": "ERROR",
    }
    command = [sys.executable, "-m", "labelgate_cli.app", "run", str(project.spec_path)]
    return subprocess.Popen(
        [*command, "--encoder", "hashing"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_kill_9_while_writing_labels_then_rerun(project: ProjectSpec, tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    ledger = Ledger.for_project(project)
    data = ProjectData(project)
    run = _run(project, home, delay=1.5)
    deadline = time.monotonic() + 240
    while ledger.count(LABEL_PROPOSED) == 0:
        assert run.poll() is None, run.stdout.read().decode() if run.stdout else ""
        assert time.monotonic() < deadline, "the run never wrote labels"
        time.sleep(0.05)
    os.kill(run.pid, signal.SIGKILL)  # label rows just committed; the file is not renamed yet
    assert run.wait(timeout=30) == -signal.SIGKILL

    committed = ledger.count(LABEL_PROPOSED)
    staged = list((data.tables.root / CANDIDATE_LABELS).glob(".*.staged"))
    assert staged and data.tables.partitions(CANDIDATE_LABELS) == []  # killed in the window
    assert not data.tables.exists(ACCEPTED_LABELS)
    assert ledger.verify().ok  # transactions: the chain is whole even after kill -9

    rerun = _run(project, home, delay=0)
    output = rerun.communicate(timeout=300)[0].decode()
    assert rerun.returncode == 0, output

    assert verify_project(project).ok
    assert_ledger_matches_labels(project)
    items = sum(len(data.tables.read(RAW_ITEMS, k)) for k in data.tables.partitions(RAW_ITEMS))
    labelers = len(project.labelers)
    candidates = sum(
        len(data.tables.read(CANDIDATE_LABELS, k)) for k in data.tables.partitions(CANDIDATE_LABELS)
    )
    assert candidates == items * labelers
    # The first run's committed rows were kept, not written again; all labels are recorded.
    assert committed <= ledger.count(LABEL_PROPOSED) == items * labelers
    assert data.tables.exists(ACCEPTED_LABELS)
    assert not list(data.tables.root.glob("*/.*.staged"))
    assert not list(data.tables.root.glob("*/.*.tmp"))
    # the killed run does not stay STARTED in the instance: the re-run marked it failed
    with dg.DagsterInstance.from_config(str(home)) as instance:
        live = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING]
        assert instance.get_runs(filters=dg.RunsFilter(statuses=live)) == []
        assert instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
