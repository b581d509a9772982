"""Who a job belongs to: the caller's identity, and reading or cancelling one's own job.

A job is read, cancelled and deduplicated by its caller: the keyed hash of the client
the registry admitted (its key or token), else of the credential the job's expose
authenticates with (an API key, else ``Authorization``); '' for anonymous callers.
Another caller's, an unknown or an expired job is :class:`JobNotFound` alike.

Must not import ``jobs.tasks``, ``jobs.run``, Celery, or any surface (``api/``,
``mcp/``, ``admin/``).
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from capabilities_app.access import admission, clients, exposes
from capabilities_app.core.errors import JobNotCancellable, JobNotFound, RegistryError
from capabilities_app.jobs.records import expires_before, update
from capabilities_app.runtime.catalog import get_catalog
from capabilities_app.store.models import Job

__all__ = [
    "authentication_of",
    "caller_from",
    "caller_of",
    "cancel",
    "cancel_queued",
    "door_of",
    "get_job",
]


def caller_of(credential: str | None) -> str:
    """Who is calling, as stored: a hash of their credential ('' when anonymous).

    The one place a caller's identity is made: jobs are read, cancelled and
    deduplicated by it. Client keys (issue 10) become the credential passed here.
    """
    if not credential:
        return ""
    return clients.digest(credential)  # keyed: a leaked table gives no credential away


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
    (``exposes.credential``)."""
    door = door_of(kind, namespace)
    if door is not None:
        try:
            client = admission.identify(door, headers)
        except RegistryError:
            client = None  # a credential the registry does not accept owns no job
        if client is not None:
            return caller_of(client.id)
    authentication = door.authentication if door is not None else None
    return caller_of(exposes.credential(authentication, headers, query))


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
    return update(
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
