"""Celery tasks: thin wrappers that hand job ids to ``jobs.run`` and ``jobs.upkeep``.

Tasks take ids and plain data, acknowledge late (a worker that dies mid-job leaves
the message for another), and retry only what ``run.execute`` says may be retried,
after the delay it chose. ``jobs.submit`` publishes ``capabilities_app.run_job`` by
name: only this module imports the run logic, and nothing of ``jobs`` imports this one
(``apps.ready`` imports it, so that every process has the tasks registered).

Must not be imported by the other modules of ``jobs``; must not import any surface
(``api/``, ``mcp/``, ``admin/``).
"""

from __future__ import annotations

import time

from celery import shared_task
from django.conf import settings

from capabilities_app.core import database
from capabilities_app.jobs import run, upkeep
from capabilities_app.jobs.submit import RUN_JOB

__all__ = ["expire_jobs", "requeue_jobs", "run_job"]


@shared_task(
    name=RUN_JOB,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=None,
)
def run_job(self, job_id: str) -> None:
    try:
        while (delay := run.execute(job_id)) is not None:
            if not self.request.is_eager:
                raise self.retry(countdown=delay)
            # Eager (no broker): the job runs in the caller's thread, backoff included.
            time.sleep(delay)
    except database.UNAVAILABLE as error:
        if self.request.is_eager:
            raise  # the request that submitted it answers 503
        # The job row cannot be read or written: come back when the database may be back
        # (a failed task would leave the job queued or running with no message). Celery
        # gives the next task a new connection; the claim rules stop a double run.
        database.down(error)
        ceiling = settings.REGISTRY_DATABASE_RETRY_MAX_SECONDS
        countdown = min(2.0 ** min(self.request.retries, 5), ceiling)
        raise self.retry(countdown=countdown) from error


@shared_task(name="capabilities_app.expire_jobs", ignore_result=True)
def expire_jobs() -> int:
    return upkeep.expire()


@shared_task(name="capabilities_app.requeue_jobs", ignore_result=True)
def requeue_jobs() -> int:
    return upkeep.requeue_stale()
