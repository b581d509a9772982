"""Async upstream calls: jobs submitted by the REST surface, run by Celery workers.

A job records an exposed operation (or an MCP tool), the call's arguments (the
caller's parameters as ``runtime.arguments_of`` resolved them: exactly what the
synchronous call runs on; never a credential, which is never a parameter), and then
its status and result. :func:`submit` creates it and publishes it when the enclosing
transaction commits; :func:`execute` is what the worker runs, through the same
``runtime.invoke`` on the same arguments as a synchronous call.

An ``Idempotency-Key`` belongs to its caller (the hash of the credential the expose
authenticates with; '' for anonymous callers) and to one operation, and names one
request: the job keeps a fingerprint of its method, target and arguments, and the
same key with another request is refused (422 ``idempotency_key_reused``).

Retries never repeat a side effect:

- only operations safe to repeat are retried (an upstream GET, HEAD, PUT, DELETE or
  OPTIONS, or a tool hinted idempotent), or any operation called with an
  ``Idempotency-Key`` (forwarded upstream, and used to deduplicate jobs);
- only on connection errors, timeouts and upstream 429, 502, 503 and 504, honouring
  ``Retry-After``; with jittered exponential backoff; at most
  ``REGISTRY_JOB_MAX_RETRIES`` times; every delay below the broker's visibility timeout;
- a job found half-run (its worker died and its lease ended) is run again only if
  it may be repeated; otherwise it fails as interrupted.

Nothing is lost: the job row is the truth, messages only wake workers. Workers claim
a job by compare-and-swap, so duplicate messages are harmless, and
:func:`requeue_stale` publishes again the queued jobs whose message a broker restart
lost.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from capabilities_app.access import admission, clients
from capabilities_app.access import exposes as access
from capabilities_app.core.errors import (
    IdempotencyKeyReused,
    JobInterrupted,
    JobNotCancellable,
    JobNotFound,
    QueueUnavailable,
    RegistryError,
    ResultTooLarge,
    RouteNotFound,
    UpstreamAnswered,
)
from capabilities_app.runtime.callers import ResolvedCaller, tool_arguments
from capabilities_app.runtime.catalog import Operation, get_catalog
from capabilities_app.runtime.invoke import invoke
from capabilities_app.runtime.outcome import Outcome
from capabilities_app.store.models import Capability, Job

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
FINAL = frozenset({Job.Status.SUCCEEDED, Job.Status.FAILED, Job.Status.CANCELLED})


def caller_of(credential: str | None) -> str:
    """Who is calling, as stored: a hash of their credential ('' when anonymous).

    The one place a caller's identity is made: jobs are read, cancelled and
    deduplicated by it. Client keys (issue 10) become the credential passed here.
    """
    if not credential:
        return ""
    return clients.digest(credential)  # keyed: a leaked table gives no credential away


def fingerprint(method: str, target: str, arguments: Mapping[str, Any]) -> str:
    """What one request is, for an ``Idempotency-Key``: SHA-256 of its method, target and
    arguments (canonical JSON)."""
    canonical = json.dumps(
        arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(f"{method}\n{target}\n{canonical}".encode()).hexdigest()


@dataclass
class Submission:
    kind: str
    namespace: str
    target: str
    method: str
    capability: str
    # The call's arguments (``runtime.arguments_of``): what the job stores and replays.
    arguments: dict[str, Any] = field(default_factory=dict)
    caller: str = ""
    idempotency_key: str = ""


def expires_before() -> timezone.datetime:
    return timezone.now() - timedelta(seconds=settings.REGISTRY_JOB_RESULT_TTL)


def submit(submission: Submission) -> tuple[Job, bool]:
    """The job for ``submission``, published on commit; an idempotent resubmission finds it.

    Returns ``(job, created)``. Raises :class:`IdempotencyKeyReused` (422) when the
    caller's key already names another request to this operation, and
    :class:`QueueUnavailable` when the broker cannot take the job (the job is then
    recorded as failed).
    """
    request = fingerprint(submission.method, submission.target, submission.arguments)
    same_key = {
        "caller": submission.caller,
        "idempotency_key": submission.idempotency_key,
        "namespace": submission.namespace,
        "target": submission.target,
        "method": submission.method,
    }
    with transaction.atomic():
        if submission.idempotency_key:
            existing = Job.objects.filter(**same_key).first()
            if existing is not None:
                if existing.created_at >= expires_before():
                    return _same_request(existing, request), False
                existing.delete()  # expired: the key is free again
        try:
            with transaction.atomic():
                job = Job.objects.create(
                    kind=submission.kind,
                    capability=Capability.objects.filter(name=submission.capability).first(),
                    params={"arguments": submission.arguments},
                    fingerprint=request,
                    **same_key,
                )
        except IntegrityError:
            # A concurrent request with the same key committed first (the unique
            # constraint on keyed jobs): that job is this one, if it is this request.
            return _same_request(Job.objects.get(**same_key), request), False
        transaction.on_commit(lambda: publish(job.pk))
    if settings.CELERY_TASK_ALWAYS_EAGER:
        job.refresh_from_db()  # it ran on commit
    return job, True


def _same_request(job: Job, request: str) -> Job:
    """The job an Idempotency-Key names, when it was made by this very request."""
    # A job stored before fingerprints existed ('') matches no request.
    if not hmac.compare_digest(job.fingerprint, request):
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used for a different request to this "
            "operation (another body, parameters or caller's request); send a new key"
        )
    return job


def publish(job_id, *, fail_job: bool = True) -> None:
    """Hand the job to Celery.

    A broker that cannot take it raises :class:`QueueUnavailable` (503) at once (no
    connection retries) and, with ``fail_job``, fails the job: its caller is told now.
    """
    from capabilities_app.jobs.tasks import run_job

    try:
        run_job.apply_async(args=[str(job_id)], retry=False)
    except RegistryError:
        raise
    except Exception as exc:  # kombu and redis raise many kinds for "broker down"
        logger.warning("job %s: the broker did not take it (%s)", job_id, type(exc).__name__)
        error = QueueUnavailable(f"the job queue did not accept the job: {type(exc).__name__}")
        if fail_job:
            _finish(job_id, Job.Status.FAILED, error=error.problem())
        raise error from exc


def _finish(job_id, status: str, **fields: Any) -> None:
    """Record the job's end, unless it was cancelled meanwhile."""
    _update(
        Job.objects.filter(pk=job_id).exclude(status=Job.Status.CANCELLED),
        status=status,
        finished_at=timezone.now(),
        lease_until=None,
        **fields,
    )


# --------------------------------------------------------------------------- running


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


def _update(jobs, **fields: Any) -> int:
    """``QuerySet.update`` that also stamps ``updated_at`` (``update`` skips ``auto_now``)."""
    return jobs.update(updated_at=timezone.now(), **fields)


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
        error = RouteNotFound("the job's operation is no longer served")
        _finish(job.pk, Job.Status.FAILED, error=error.problem())
        return None
    claimed = Job.objects.filter(pk=job.pk, status=job.status, attempts=job.attempts)
    if job.status == Job.Status.RUNNING and not may_repeat(job, operation):
        error = JobInterrupted(
            "the worker running this job stopped during the upstream call; it is not "
            "run again because the call may have a side effect (send an Idempotency-Key "
            "to make it repeatable)"
        )
        _update(claimed, status=Job.Status.FAILED, finished_at=now, error=error.problem())
        return None
    if not _update(
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
        _finish(job.pk, Job.Status.FAILED, error=error.problem())
        return None
    if outcome.status in RETRYABLE_STATUSES and can_retry:
        return _again(job, backoff(job.attempts, outcome.retry_after), None, outcome.status)
    _record(job, outcome)
    return None


def _again(job: Job, delay: float, error: dict | None, status: int | None = None) -> float:
    _update(
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
        _finish(job.pk, Job.Status.FAILED, error=error.problem(), upstream_status=outcome.status)
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
        _finish(job.pk, Job.Status.FAILED, **fields)
    else:
        _finish(job.pk, Job.Status.SUCCEEDED, **fields)


# --------------------------------------------------------------------------- reading


def authentication_of(kind: str, namespace: str) -> dict[str, Any] | None:
    """The ``authentication`` of the expose a job was called through (None: open or gone)."""
    catalog = get_catalog()
    if kind == Job.Kind.TOOL:
        served = catalog.mcp.get(namespace)
        return served.authentication if served is not None else None
    routes = catalog.routes.get(namespace)  # one expose: its routes share its authentication
    return routes[0].authentication if routes else None


def door_of(kind: str, namespace: str) -> admission.Door | None:
    """The surface a job was called through (None: no longer served)."""
    catalog = get_catalog()
    if kind == Job.Kind.TOOL:
        served = catalog.mcp.get(namespace)
        if served is None:
            return None
        return admission.Door("mcp", namespace, served.capability, served.authentication)
    capability = catalog.rest_capabilities.get(namespace)
    if capability is None:
        return None
    return admission.Door("rest", namespace, capability, authentication_of(kind, namespace))


def caller_from(kind: str, namespace: str, headers: Mapping[str, str], query) -> str:
    """The caller of a request to an expose, as jobs store it: its client (key or token)
    when it presents one the registry accepts, else the expose's own credential
    (``access.credential``)."""
    door = door_of(kind, namespace)
    if door is not None:
        try:
            client = admission.identify(door, headers)
        except RegistryError:
            client = None  # a credential the registry does not accept owns no job
        if client is not None:
            return caller_of(client.id)
    authentication = door.authentication if door is not None else None
    return caller_of(access.credential(authentication, headers, query))


def get_job(job_id, headers: Mapping[str, str], query) -> Job:
    """The caller's job; :class:`JobNotFound` for another caller's, an unknown or expired one.

    The caller is identified as at submission: by the credential the job's expose
    authenticates with (an API key), else by ``Authorization``.
    """
    try:
        job_id = uuid.UUID(str(job_id))
    except ValueError:
        job = None
    else:
        job = Job.objects.filter(pk=job_id, created_at__gte=expires_before()).first()
    if job is not None:
        caller = caller_from(job.kind, job.namespace, headers, query)
        if not hmac.compare_digest(job.caller, caller):
            job = None
    if job is None:
        raise JobNotFound(f"no job {job_id} for this caller (unknown, expired or not yours)")
    return job


def cancel_queued(queryset) -> int:
    """Cancel the queued jobs among ``queryset`` (a worker then skips them); how many."""
    return _update(
        queryset.filter(status=Job.Status.QUEUED),
        status=Job.Status.CANCELLED,
        finished_at=timezone.now(),
    )


def cancel(job_id, headers: Mapping[str, str], query) -> Job:
    with transaction.atomic():
        job = get_job(job_id, headers, query)
        if not cancel_queued(Job.objects.filter(pk=job.pk)):
            raise JobNotCancellable(
                f"job {job_id} is {job.status}; only a queued job can be cancelled"
            )
    job.refresh_from_db()
    return job


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
        _update(Job.objects.filter(pk=job_id, status=Job.Status.QUEUED))
        publish(job_id, fail_job=False)
    return len(stale)


def expire() -> int:
    """Delete jobs past ``REGISTRY_JOB_RESULT_TTL``; returns how many."""
    deleted, _ = Job.objects.filter(created_at__lt=expires_before()).delete()
    return deleted


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
