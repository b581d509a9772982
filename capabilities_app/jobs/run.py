"""Running a job: claim it, call through the runtime, retry what may be retried, finish.

:func:`execute` is what the worker runs (``jobs.tasks.run_job``), through the same
``runtime.invoke`` on the same arguments as a synchronous call.

Retries never repeat a side effect:

- only operations safe to repeat are retried (an upstream GET, HEAD, PUT, DELETE or
  OPTIONS, or a tool hinted idempotent), or any operation called with an
  ``Idempotency-Key`` (forwarded upstream, and used to deduplicate jobs);
- only on errors marked ``retryable`` (connection errors, timeouts) and upstream 429,
  502, 503 and 504, honouring ``Retry-After``; with jittered exponential backoff; at
  most ``REGISTRY_JOB_MAX_RETRIES`` times; every delay below the broker's visibility
  timeout;
- a job found half-run (its worker died and its lease ended) is run again only if
  it may be repeated; otherwise it fails as interrupted.

Workers claim a job by compare-and-swap, so duplicate messages are harmless.

Must not import Celery or ``jobs.tasks`` (the task calls this, not the reverse),
``access``, or any surface (``api/``, ``mcp/``, ``admin/``).
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from capabilities_app.core.errors import (
    JobInterrupted,
    RegistryError,
    ResultTooLarge,
    RouteNotFound,
    UpstreamAnswered,
)
from capabilities_app.jobs.records import FINAL, finish, update
from capabilities_app.runtime.callers import ResolvedCaller, tool_arguments
from capabilities_app.runtime.catalog import Operation, get_catalog
from capabilities_app.runtime.invoke import invoke
from capabilities_app.runtime.outcome import Outcome
from capabilities_app.store.models import Job

__all__ = [
    "RETRYABLE_STATUSES",
    "SAFE_METHODS",
    "backoff",
    "caller_for",
    "execute",
    "lease_seconds",
    "locate",
    "may_repeat",
    "visibility_timeout",
]

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


def locate(job: Job) -> Operation | None:
    """The operation the job calls, in the current catalog (None: no longer served)."""
    catalog = get_catalog()
    if job.kind == Job.Kind.TOOL:
        server = catalog.mcp.get(job.namespace)
        return server.tools.get(job.target) if server else None
    for route in catalog.routes.get(job.namespace, ()):
        if route.path == job.target:
            operation = route.operation(job.method)
            if operation is not None:
                return operation
    return None


def may_repeat(job: Job, operation: Operation) -> bool:
    """Whether running the job's call again cannot repeat a side effect."""
    if job.idempotency_key:
        return True
    if operation.kind == "tool" and operation.hints.idempotent:
        return True
    upstream_method = operation.call.method if operation.call is not None else operation.method
    return (upstream_method or "").upper() in SAFE_METHODS


def caller_for(job: Job, operation: Operation) -> ResolvedCaller:
    """The caller a job runs with: its stored arguments, as the synchronous call had them."""
    params = job.params if isinstance(job.params, dict) else {}
    arguments = params.get("arguments") or {}
    if job.kind == Job.Kind.TOOL:
        # Resolving resolved arguments again changes nothing; tool jobs stored before
        # arguments were resolved at submission held the raw tool arguments.
        arguments = tool_arguments(operation, arguments)
    headers = {"Idempotency-Key": job.idempotency_key} if job.idempotency_key else {}
    return ResolvedCaller(arguments, upstream_headers=headers)


def backoff(attempt: int, retry_after: str | None = None) -> float:
    """Seconds before the next attempt: jittered exponential, Retry-After honoured, capped."""
    base = settings.REGISTRY_JOB_RETRY_BASE_SECONDS * 2 ** max(attempt - 1, 0)
    delay = random.uniform(base / 2, base)  # noqa: S311 - jitter, not security
    wait = _retry_after_seconds(retry_after)
    if wait is not None:
        delay = max(delay, wait)
    # A countdown past the broker's visibility timeout would have Redis hand the
    # message to a second worker while the first still waits on it.
    return min(delay, visibility_timeout() * 0.5)


def visibility_timeout() -> float:
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    return float(options.get("visibility_timeout", 3600))


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - timezone.now()).total_seconds(), 0.0)


def lease_seconds() -> float:
    return float(settings.REGISTRY_JOB_LEASE_SECONDS)


def execute(job_id) -> float | None:
    """Run one attempt of the job; return seconds before trying again, or None when done.

    Workers claim a job with a compare-and-swap on (status, attempts), so two copies
    of a message (a redelivery, a requeue) never run the same attempt twice. A
    running job whose lease is still valid belongs to another worker: come back
    when the lease ends. A running job whose lease has ended was interrupted (its
    worker died): it is run again only if that cannot repeat a side effect.
    """
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.status in FINAL:
        return None
    now = timezone.now()
    # Another worker holds it, or its retry is not due: an early copy comes back later.
    held = job.lease_until if job.status == Job.Status.RUNNING else job.not_before
    if held and held > now:
        return min((held - now).total_seconds() + 0.1, visibility_timeout() * 0.5)
    operation = locate(job)
    if operation is None:
        gone = RouteNotFound("the job's operation is no longer served")
        finish(job.pk, Job.Status.FAILED, error=gone.problem())
        return None
    claimed = Job.objects.filter(pk=job.pk, status=job.status, attempts=job.attempts)
    if job.status == Job.Status.RUNNING and not may_repeat(job, operation):
        error = JobInterrupted(
            "the worker running this job stopped during the upstream call; it is not "
            "run again because the call may have a side effect (send an Idempotency-Key "
            "to make it repeatable)"
        )
        update(claimed, status=Job.Status.FAILED, finished_at=now, error=error.problem())
        return None
    if not update(
        claimed,
        status=Job.Status.RUNNING,
        attempts=job.attempts + 1,
        started_at=job.started_at or now,
        lease_until=now + timedelta(seconds=lease_seconds()),
        not_before=None,
    ):
        return None  # another worker claimed it first; its message carries on
    job.attempts += 1
    can_retry = may_repeat(job, operation) and job.attempts <= settings.REGISTRY_JOB_MAX_RETRIES
    try:
        outcome = invoke(operation, caller_for(job, operation))
    except RegistryError as error:
        if error.retryable and can_retry:
            return _again(job, backoff(job.attempts), error.problem())
        finish(job.pk, Job.Status.FAILED, error=error.problem())
        return None
    if outcome.status in RETRYABLE_STATUSES and can_retry:
        return _again(job, backoff(job.attempts, outcome.retry_after), None, outcome.status)
    _record(job, outcome)
    return None


def _again(job: Job, delay: float, error: dict | None, status: int | None = None) -> float:
    update(
        Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING),
        status=Job.Status.QUEUED,
        error=error,
        upstream_status=status,
        lease_until=None,
        not_before=timezone.now() + timedelta(seconds=delay),
    )
    logger.info("job %s: attempt %d failed, again in %.2f s", job.pk, job.attempts, delay)
    return delay


def _record(job: Job, outcome: Outcome) -> None:
    body = outcome.body()
    if len(body) > settings.REGISTRY_JOB_RESULT_MAX_BYTES:
        error = ResultTooLarge(
            f"the result is {len(body):,} bytes, over REGISTRY_JOB_RESULT_MAX_BYTES "
            f"({settings.REGISTRY_JOB_RESULT_MAX_BYTES:,})"
        )
        finish(job.pk, Job.Status.FAILED, error=error.problem(), upstream_status=outcome.status)
        return
    data = outcome.json()
    fields: dict[str, Any] = {
        "upstream_status": outcome.status,
        "result": data,
        "result_content_type": outcome.content_type or "",
        "error": None,
    }
    if outcome.is_error:
        fields["error"] = UpstreamAnswered(outcome.status).problem()
        finish(job.pk, Job.Status.FAILED, **fields)
    else:
        finish(job.pk, Job.Status.SUCCEEDED, **fields)
