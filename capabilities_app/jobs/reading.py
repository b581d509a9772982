"""A job as the API shows it (``/api/jobs/<id>``).

Must not import ``jobs.tasks``, ``jobs.run``, Celery, the runtime, or any surface
(``api/``, ``mcp/``, ``admin/``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings

from capabilities_app.store.models import Job

__all__ = ["as_json"]


def as_json(job: Job) -> dict[str, Any]:
    """The job as the API shows it."""
    ttl = timedelta(seconds=settings.REGISTRY_JOB_RESULT_TTL)
    body: dict[str, Any] = {
        "id": str(job.pk),
        "status": job.status,
        "kind": job.kind,
        "namespace": job.namespace,
        "method": job.method or None,
        "target": job.target,
        "attempts": job.attempts,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "expires_at": (job.created_at + ttl).isoformat(),
        "upstream_status": job.upstream_status,
        "error": job.error,
        "links": {"self": f"/api/jobs/{job.pk}"},
    }
    if job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED) and job.result is not None:
        body["result"] = job.result
        body["result_content_type"] = job.result_content_type
    return body
