"""Async jobs: an upstream call a Celery worker runs later, its status and result.

Imports only Django, ``store.fields`` and ``store.models.documents``.
"""

from __future__ import annotations

import uuid

from django.db import models

from capabilities_app.store.fields import DocumentJSONField
from capabilities_app.store.models.documents import Capability

__all__ = ["Job"]


class Job(models.Model):
    """An upstream call run later by a Celery worker: its request, status and result.

    The caller gets the job at once (``202 Accepted``) and reads it at
    ``/api/jobs/<id>``. ``params`` holds ``{"arguments": {...}}``: the call's
    parameters as the synchronous call resolves them (``runtime.arguments_of``), never
    a header, a raw body or a credential; ``fingerprint`` identifies that request for
    its ``Idempotency-Key``; ``result`` holds what the synchronous call would have
    returned, capped by ``REGISTRY_JOB_RESULT_MAX_BYTES``.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Kind(models.TextChoices):
        REST = "rest", "REST operation"
        TOOL = "tool", "MCP tool"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    capability = models.ForeignKey(
        Capability, on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    namespace = models.CharField(max_length=255, help_text="The expose namespace.")
    target = models.CharField(
        max_length=2048, help_text="REST: the resource path as declared; MCP: the tool name."
    )
    method = models.CharField(max_length=8, blank=True, help_text="REST: the HTTP method.")
    caller = models.CharField(
        max_length=64,
        blank=True,
        db_index=True,
        help_text="Who created the job (a hash of the caller's credential; empty: anonymous).",
    )
    idempotency_key = models.CharField(max_length=255, blank=True, db_index=True)
    params = DocumentJSONField(default=dict, blank=True)
    fingerprint = models.CharField(
        max_length=64,
        blank=True,
        help_text="SHA-256 of the method, target and arguments: the request an "
        "Idempotency-Key names (empty: stored before fingerprints existed).",
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    lease_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="While running: until when the worker on it holds the job.",
    )
    not_before = models.DateTimeField(
        null=True, blank=True, help_text="While queued for a retry: its earliest start."
    )
    upstream_status = models.PositiveIntegerField(null=True, blank=True)
    result = DocumentJSONField(null=True, blank=True)
    result_content_type = models.CharField(max_length=255, blank=True)
    error = DocumentJSONField(null=True, blank=True, help_text="problem+json")

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            # One job per caller, Idempotency-Key and operation: concurrent
            # resubmissions find the job instead of making a second one.
            models.UniqueConstraint(
                fields=["caller", "idempotency_key", "namespace", "target", "method"],
                condition=~models.Q(idempotency_key=""),
                name="job_idempotency_key_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace} {self.method} {self.target} ({self.status})"
