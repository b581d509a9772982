"""Job upkeep (Celery beat and ``manage.py job_maintenance``): expire old jobs, publish
again the queued jobs whose message was lost.

Must not import ``jobs.tasks`` or ``jobs.run``, the runtime, or any surface (``api/``,
``mcp/``, ``admin/``).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from capabilities_app.jobs.records import expires_before, update
from capabilities_app.jobs.submit import publish
from capabilities_app.store.models import Job

__all__ = ["expire", "requeue_stale"]


def requeue_stale() -> int:
    """Publish again the queued jobs untouched for ``REGISTRY_JOB_REQUEUE_SECONDS``.

    A broker that restarted without persistence has lost their messages; a copy of a
    message that still exists is harmless (workers claim jobs by compare-and-swap).
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return 0
    cutoff = timezone.now() - timedelta(seconds=settings.REGISTRY_JOB_REQUEUE_SECONDS)
    due = Q(not_before__isnull=True) | Q(not_before__lt=cutoff)
    stale = list(
        Job.objects.filter(due, status=Job.Status.QUEUED, updated_at__lt=cutoff).values_list(
            "pk", flat=True
        )[:1000]
    )
    for job_id in stale:
        update(Job.objects.filter(pk=job_id, status=Job.Status.QUEUED))
        publish(job_id, fail_job=False)
    return len(stale)


def expire() -> int:
    """Delete jobs past ``REGISTRY_JOB_RESULT_TTL``; returns how many."""
    deleted, _ = Job.objects.filter(created_at__lt=expires_before()).delete()
    return deleted
