"""Submitting async jobs: the job row, its idempotency, and its message on commit.

A job records an exposed operation (or an MCP tool), the call's arguments (the
caller's parameters as ``runtime.arguments_of`` resolved them: exactly what the
synchronous call runs on; never a credential, which is never a parameter), and then
its status and result. :func:`submit` creates it and publishes it when the enclosing
transaction commits; ``jobs.run.execute`` is what the worker runs.

An ``Idempotency-Key`` belongs to its caller (the hash of the credential the expose
authenticates with, ``jobs.access.caller_of``; '' for anonymous callers) and to one
operation, and names one request: the job keeps a fingerprint of its method, target and
arguments, and the same key with another request is refused (422
``idempotency_key_reused``).

Nothing is lost: the job row is the truth, messages only wake workers. The message
names the Celery task ``capabilities_app.run_job`` (``jobs.tasks``) by name, so this
module does not import the tasks: with ``CELERY_TASK_ALWAYS_EAGER`` (no broker) the
registered task runs in place, on commit.

Must not import ``jobs.tasks`` or ``jobs.run``, the runtime, or any surface (``api/``,
``mcp/``, ``admin/``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction

from capabilities_app.core.errors import IdempotencyKeyReused, QueueUnavailable, RegistryError
from capabilities_app.jobs.records import expires_before, finish
from capabilities_app.store.models import Capability, Job

__all__ = ["RUN_JOB", "Submission", "fingerprint", "publish", "submit"]

logger = logging.getLogger(__name__)

RUN_JOB = "capabilities_app.run_job"  # the Celery task that runs a job (jobs.tasks)


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
    """Hand the job to Celery (the task :data:`RUN_JOB`, by name).

    A broker that cannot take it raises :class:`QueueUnavailable` (503) at once (no
    connection retries) and, with ``fail_job``, fails the job: its caller is told now.
    """
    try:
        # A signature of a registered task applies it as the task does (eager included;
        # ``apps.ready`` registers the tasks in every process).
        current_app.signature(RUN_JOB, args=[str(job_id)]).apply_async(retry=False)
    except RegistryError:
        raise
    except Exception as exc:  # kombu and redis raise many kinds for "broker down"
        logger.warning("job %s: the broker did not take it (%s)", job_id, type(exc).__name__)
        error = QueueUnavailable(f"the job queue did not accept the job: {type(exc).__name__}")
        if fail_job:
            finish(job_id, Job.Status.FAILED, error=error.problem())
        raise error from exc
