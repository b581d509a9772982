"""The job row as the record of truth: how a job's state is written, and when it expires.

Every change of a job's status goes through :func:`update` (which stamps
``updated_at``, as ``requeue_stale`` reads it) or :func:`finish`; submission, the run
and cancellation share them.

Must not import the runtime, ``access``, Celery, or any surface (``api/``, ``mcp/``,
``admin/``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from capabilities_app.store.models import Job

__all__ = ["FINAL", "expires_before", "finish", "update"]

FINAL = frozenset({Job.Status.SUCCEEDED, Job.Status.FAILED, Job.Status.CANCELLED})


def expires_before() -> datetime:
    """Jobs created before this are past ``REGISTRY_JOB_RESULT_TTL``."""
    return timezone.now() - timedelta(seconds=settings.REGISTRY_JOB_RESULT_TTL)


def update(jobs, **fields: Any) -> int:
    """``QuerySet.update`` that also stamps ``updated_at`` (``update`` skips ``auto_now``)."""
    return jobs.update(updated_at=timezone.now(), **fields)


def finish(job_id, status: str, **fields: Any) -> None:
    """Record the job's end, unless it was cancelled meanwhile."""
    update(
        Job.objects.filter(pk=job_id).exclude(status=Job.Status.CANCELLED),
        status=status,
        finished_at=timezone.now(),
        lease_until=None,
        **fields,
    )
