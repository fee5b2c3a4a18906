"""The Celery app every labelgate worker runs: ``celery -A pipelines.celery_worker worker``.

It is built from the same ``ExecutionSettings`` as the executor that submits steps, so the
broker, result backend and queue always match. ``make workers`` starts one.
"""

from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from pipelines.execution import ExecutionSettings

settings = ExecutionSettings.from_env()
app = make_app(CeleryExecutor.for_cli(**settings.celery_config()).app_args())
# dagster-celery declares only its "dagster" queue; this worker listens on settings.queue.
app.conf.task_queues = [settings.step_queue()]
execute_plan = create_task(app)
