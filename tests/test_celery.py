"""A project labeled by two real Celery workers (local RabbitMQ, PostgreSQL instance and
ledger) gives the same accepted labels, ledger and counts as the same project run in-process;
a worker killed mid-step fails its run cleanly and a re-run completes, nothing lost or doubled.

The test starts and stops its own workers on a queue of its own, so stray workers on the same
broker never take its steps.
"""

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from celery import Celery
from kombu import Connection

from labelgate.governance.verify import verify_project
from labelgate.ledger import Ledger, dispose_engines
from labelgate.project import ACCEPTED_LABELS, AUTO_LABELS, RAW_ITEMS, ProjectData
from labelgate.spec import ProjectSpec, load_project
from labelgate.synth import simulate_reviews, write_corpus
from labelgate_cli.celery_runner import CeleryRunFailed
from labelgate_cli.runner import import_reviews, run_project
from pipelines.execution import DEFAULT_BROKER, ExecutionSettings
from resources.encoder import TextEncoderResource
from tests.conftest import REPO, write_project
from tests.test_governance import assert_ledger_matches_labels

pytestmark = pytest.mark.postgres

BATCHES = 6
COMPARED = ["item_id", "label", "source", "confidence", "reviewer"]


def _broker_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=3):
            return True
    except OSError:
        return False


def _die_with_parent() -> None:
    """Linux: the worker gets SIGTERM if the test process dies, so none outlives it."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Workers:
    """Two ``celery -A pipelines.celery_worker worker`` processes, one step at a time each."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.names = [f"w{i}-{uuid.uuid4().hex[:6]}@{socket.gethostname()}" for i in (1, 2)]
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        for name in self.names:
            log = self.logs / f"{name.split('@')[0]}.log"
            cmd = [sys.executable, "-m", "celery", "-A", "pipelines.celery_worker", "worker"]
            cmd += ["-Q", self.env["LABELGATE_CELERY_QUEUE"], "-n", name, "--concurrency=1"]
            cmd += ["--pool=prefork", "--without-gossip", "--without-mingle", "-l", "INFO"]
            cmd += [f"--logfile={log}"]
            self.procs.append(
                subprocess.Popen(cmd, cwd=REPO, env=self.env, preexec_fn=_die_with_parent)
            )
        deadline = time.monotonic() + 120
        for name in self.names:
            log = self.logs / f"{name.split('@')[0]}.log"
            while "ready." not in (log.read_text() if log.exists() else ""):
                if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                    raise AssertionError(f"worker {name} did not start: {self.log_tail()}")
                time.sleep(0.5)

    def log_tail(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in sorted(self.logs.glob("*.log")))

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        settings = ExecutionSettings.from_env()  # the test's own queue: leave no trace
        with Connection(settings.broker, connect_timeout=10) as connection:
            settings.step_queue()(connection.default_channel).delete()

    def kill_mid_step(self, app: Celery, stop: threading.Event) -> str:
        """SIGKILL the process running a ``candidate_labels`` step on the first worker while
        the step runs: it is frozen (SIGSTOP) first and killed only if the same task is still
        active then."""
        inspect = app.control.inspect(destination=[self.names[0]], timeout=2)
        while not stop.is_set():
            active = [  # a labeling step: the batch runs go on while it dies
                task
                for task in (inspect.active() or {}).get(self.names[0]) or []
                if "__candidate_labels" in str(task.get("kwargs"))
            ]
            if not active:
                time.sleep(0.2)
                continue
            task, pid = active[0]["id"], active[0]["worker_pid"]
            os.kill(pid, signal.SIGSTOP)
            still = (inspect.active() or {}).get(self.names[0]) or []
            if any(t["id"] == task for t in still):
                os.kill(pid, signal.SIGKILL)
                return task
            os.kill(pid, signal.SIGCONT)
        raise AssertionError("no step ran on the first worker")


def _project(tmp_path: Path, name: str, inbox: Path) -> ProjectSpec:
    """The demo project on ``inbox``, with a gate the hashing encoder can pass."""
    folder = tmp_path / name
    folder.mkdir()
    gate = {"target_accuracy": 0.8, "confidence": 0.9}
    path = write_project(folder, inbox, name=name, gate=gate, review={"calibration_size": 300})
    return load_project(path)


@pytest.fixture
def celery_env(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    if not _broker_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"RabbitMQ at {DEFAULT_BROKER} is unreachable under CI")
        pytest.skip(f"SKIPPED LOUDLY: RabbitMQ at {DEFAULT_BROKER} is unreachable")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    env = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_URL": postgres_url,
        "LABELGATE_LEDGER_URL": postgres_url,
        "LABELGATE_EXECUTOR": "celery",
        "LABELGATE_CELERY_QUEUE": f"labelgate-test-{uuid.uuid4().hex[:10]}",
        "LABELGATE_PARALLEL_RUNS": "3",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    dispose_engines()


@dataclass
class Snapshot:
    accepted: pd.DataFrame
    auto: pd.DataFrame
    counts: dict[str, int]
    events: Counter[str]


def _snapshot(spec: ProjectSpec) -> Snapshot:
    verified = verify_project(spec)
    assert verified.ok, verified.problems
    assert_ledger_matches_labels(spec)  # every label once in the ledger, and on disk
    tables = ProjectData(spec).tables
    auto = tables.read_all(AUTO_LABELS)[["item_id", "label", "confidence"]]
    return Snapshot(
        accepted=_sorted(tables.read(ACCEPTED_LABELS)[COMPARED]),
        auto=_sorted(auto),
        counts={
            name: sum(tables.row_count(name, key) for key in tables.partitions(name))
            for name in (RAW_ITEMS, AUTO_LABELS)
        },
        events=Counter(event.event for event in Ledger.for_project(spec).events()),
    )


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("item_id").reset_index(drop=True)


def _assert_same(got: Snapshot, expected: Snapshot) -> None:
    pd.testing.assert_frame_equal(got.accepted, expected.accepted)
    pd.testing.assert_frame_equal(got.auto, expected.auto)
    assert got.counts == expected.counts
    assert got.events == expected.events


def test_two_celery_workers_match_in_process_and_survive_a_killed_worker(
    tmp_path: Path,
    celery_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    hashing_encoder: TextEncoderResource,
) -> None:
    corpus = write_corpus(tmp_path / "corpus", n=3000, n_batches=BATCHES, seed=11)
    truth = pd.read_csv(corpus.truth_csv, dtype=str, keep_default_na=False)
    answers = tmp_path / "answers.csv"

    # The reference: the same project in-process (SQLite instance and ledger), labeled, its
    # review queue answered from the truth, labeled again with the reviews.
    with monkeypatch.context() as local:
        for key in ("LABELGATE_EXECUTOR", "LABELGATE_LEDGER_URL"):
            local.delenv(key)
        reference = _project(tmp_path, "bank_local", corpus.inbox)
        with dg.instance_for_test() as instance:
            run_project(reference, instance=instance, encoder=hashing_encoder)
            before_reviews = _snapshot(reference)
            queue = ProjectData(reference).queue_dir / "review_queue.csv"
            simulate_reviews(queue, truth, answers, error_rate=0.0, seed=3)
            import_reviews(reference, [str(answers)], instance=instance, encoder=hashing_encoder)
            run_project(reference, instance=instance, encoder=hashing_encoder)
            with_reviews = _snapshot(reference)
    assert before_reviews.counts[AUTO_LABELS] > 2500
    assert (with_reviews.accepted["source"] == "auto").sum() > 2000

    workers = Workers(celery_env, tmp_path)
    workers.start()
    try:
        with dg.DagsterInstance.get() as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            spec = _project(tmp_path, "bank_celery", corpus.inbox)

            # A worker dies in the middle of a step: that run fails, the others finish.
            stop = threading.Event()
            killed: dict[str, str] = {}
            inspector = Celery(broker=DEFAULT_BROKER)
            thread = threading.Thread(
                target=lambda: killed.update(task=workers.kill_mid_step(inspector, stop))
            )
            thread.start()
            try:
                with pytest.raises(CeleryRunFailed, match=r"WorkerLostError|exited prematurely"):
                    run_project(spec, instance=instance, encoder=hashing_encoder)
            finally:
                stop.set()
                thread.join()
            assert killed.get("task"), "the worker was never killed"
            statuses = Counter(run.status for run in instance.get_runs())
            assert statuses[dg.DagsterRunStatus.FAILURE] == 1, statuses
            assert set(statuses) == {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE}

            # The re-run completes: nothing lost, nothing recorded twice.
            run_project(spec, instance=instance, encoder=hashing_encoder)
            _assert_same(_snapshot(spec), before_reviews)

            # With the same reviews every batch labels again, on both workers.
            import_reviews(spec, [str(answers)], instance=instance, encoder=hashing_encoder)
            summary = run_project(spec, instance=instance, encoder=hashing_encoder)
            assert len(summary.batches) == BATCHES
            hosts = _step_hosts(instance, summary.run_ids)
            assert set(hosts) == set(workers.names), f"steps ran on {hosts}, not both workers"
            _assert_same(_snapshot(spec), with_reviews)
    finally:
        workers.stop()


def _step_hosts(instance: dg.DagsterInstance, run_ids: list[str]) -> Counter[str]:
    """Which Celery worker executed each step (from the workers' engine events)."""
    hosts: Counter[str] = Counter()
    for run_id in run_ids:
        for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
            data = record.dagster_event.engine_event_data  # type: ignore[union-attr]
            entry = data.metadata.get("Celery worker") if data else None
            if entry is not None:
                hosts[entry.value] += 1
    return hosts
