"""How a project's jobs execute: in-process (the default) or on Dagster's Celery executor.

The environment picks the executor here and nowhere else (``deploy/celery.env`` lists them):

- ``LABELGATE_EXECUTOR``: ``in_process`` (default; ``make demo``) or ``celery``.
- ``LABELGATE_CELERY_BROKER``: default ``amqp://guest:guest@127.0.0.1:5672//`` (RabbitMQ);
  ``redis://127.0.0.1:6379/0`` works too.
- ``LABELGATE_CELERY_BACKEND``: where step results return, default ``rpc://``.
- ``LABELGATE_CELERY_QUEUE``: the queue runs submit to and workers listen on (default
  ``labelgate``), so several deployments can share one broker.
- ``LABELGATE_ENCODER_SLOTS``: how many ``candidate_labels`` steps (the encoder, a GPU) may run
  at once across all workers: a Dagster pool limit, unset = no cap.
- ``LABELGATE_PARALLEL_RUNS``: how many batch runs one ``labelgate run`` keeps in flight on
  Celery (default 4).

Every worker needs the same settings, the same ``DAGSTER_HOME`` (a PostgreSQL instance), the
project's storage on a shared path and the ledger on PostgreSQL (``LABELGATE_LEDGER_URL``).
"""

import os
from dataclasses import dataclass
from typing import Literal

import dagster as dg
from kombu import Connection, Exchange, Queue

ExecutorKind = Literal["in_process", "celery"]
EXECUTOR_ENV = "LABELGATE_EXECUTOR"
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
DEFAULT_BACKEND = "rpc://"
DEFAULT_QUEUE = "labelgate"


@dataclass(frozen=True)
class ExecutionSettings:
    executor: ExecutorKind = "in_process"
    broker: str = DEFAULT_BROKER
    backend: str = DEFAULT_BACKEND
    queue: str = DEFAULT_QUEUE
    encoder_slots: int | None = None
    parallel_runs: int = 4

    @classmethod
    def from_env(cls) -> "ExecutionSettings":
        kind = os.environ.get(EXECUTOR_ENV, "in_process").strip() or "in_process"
        if kind not in ("in_process", "celery"):
            raise ValueError(f"{EXECUTOR_ENV} must be 'in_process' or 'celery', not {kind!r}")
        return cls(
            executor=kind,  # type: ignore[arg-type]
            broker=os.environ.get("LABELGATE_CELERY_BROKER") or DEFAULT_BROKER,
            backend=os.environ.get("LABELGATE_CELERY_BACKEND") or DEFAULT_BACKEND,
            queue=os.environ.get("LABELGATE_CELERY_QUEUE") or DEFAULT_QUEUE,
            encoder_slots=_positive_int("LABELGATE_ENCODER_SLOTS", None),
            parallel_runs=_positive_int("LABELGATE_PARALLEL_RUNS", 4) or 4,
        )

    @property
    def celery(self) -> bool:
        return self.executor == "celery"

    def celery_config(self) -> dict[str, object]:
        """The Celery app settings; the executor and every worker build their app from these."""
        return {
            "broker": self.broker,
            "backend": self.backend,
            "config_source": {
                "task_default_queue": self.queue,
                "worker_prefetch_multiplier": 1,
                # A worker that dies mid-step reports the step failed instead of leaving the
                # run waiting on a result that never comes.
                "task_acks_late": False,
                "broker_connection_retry_on_startup": True,
            },
        }

    def step_queue(self) -> Queue:
        """dagster-celery sends each step to ``queue`` with routing key ``{queue}.execute_plan``
        through the direct exchange named after the queue; this binds the two."""
        return Queue(
            self.queue,
            Exchange(self.queue, type="direct"),
            routing_key=f"{self.queue}.execute_plan",
            queue_arguments={"x-max-priority": 10},  # as dagster-celery declares its queues
        )

    def declare_step_queue(self) -> None:
        """Declare the queue and its binding on the broker, so steps submitted before any
        worker listened wait in the queue instead of being dropped as unroutable."""
        with Connection(self.broker, connect_timeout=10) as connection:
            self.step_queue()(connection.default_channel).declare()

    def executor_def(self) -> dg.ExecutorDefinition | None:
        """The Celery executor configured from these settings; None keeps Dagster's default."""
        if not self.celery:
            return None
        from dagster_celery import celery_executor

        return celery_executor.configured(self.celery_config())


def _positive_int(name: str, default: int | None) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a positive integer, not {raw!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, not {raw!r}")
    return value
