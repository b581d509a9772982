"""Every error the registry reports, as data, defined once.

Each failure is a :class:`RegistryError` subclass with a stable ``code`` (unique: a test
asserts it), an HTTP ``status``, a ``title`` and a ``retryable`` flag. It renders itself:
:meth:`RegistryError.problem` is its RFC 9457 problem document
(``application/problem+json``) and :meth:`RegistryError.headers` the response headers
that go with it (``Allow``, ``WWW-Authenticate``, ``Retry-After``, the ``RateLimit``
fields). The domain raises them; the edges only choose the envelope: the REST surface
answers the problem as the response (``api.problems``), the MCP surface as an
``isError`` tool result (``mcp.results``), a job stores it as its error, the admin and
the commands show the detail. So no surface imports another to render an error.

A job tries again after an error whose class is ``retryable`` (``jobs``), with backoff.

This module lists them all, grouped by the layer that raises them; no other module
defines a ``RegistryError``. Document findings (``Diagnostic``) are here too: they
are what a :class:`SpecError` carries.

Pure Python: must not import Django, httpx, the MCP SDK or any other module of the app.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

__all__ = [
    "PROBLEM_JSON",
    "Diagnostic",
    "DiagnosticList",
    "RegistryError",
    "Severity",
    "problem",
]

Severity = Literal["error", "warning"]

PROBLEM_JSON = "application/problem+json"


def problem(status: int, code: str, title: str, detail: str, instance: str = "") -> dict[str, Any]:
    """An RFC 9457 problem document with the registry's ``code`` member (also used for
    errors that are not the registry's own, e.g. DRF's parse errors)."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    return body


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a document, located at a file, line, column and key path."""

    severity: Severity
    code: str
    message: str
    origin: str = "<document>"
    line: int = 1
    column: int = 1
    key_path: str = "<document>"

    def __str__(self) -> str:
        return f"{self.origin}:{self.line}:{self.column}: {self.key_path}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


@dataclass
class DiagnosticList:
    """Collects diagnostics while a document is read; ``errors`` decides the outcome."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)

    def extend(self, diagnostics: list[Diagnostic]) -> None:
        self.items.extend(diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if not d.is_error]


class RegistryError(Exception):
    """Base of the registry's own errors: a stable code, a status and a human detail."""

    code: ClassVar[str] = "registry_error"
    status: int = 500
    title: ClassVar[str] = "Registry error"
    retryable: ClassVar[bool] = False
    """A job that fails with this error is tried again (with backoff) while it may."""

    challenge: str = ""
    """``WWW-Authenticate`` of a 401 or 403 (set where the door is known: ``admission``)."""

    retry_after: int | None = None
    """Seconds before a retry may succeed: ``Retry-After``."""

    def __init__(self, detail: str = "", challenge: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if challenge is not None:
            self.challenge = challenge

    def problem(self, instance: str = "") -> dict[str, Any]:
        """The problem document every surface renders this error as."""
        return problem(self.status, self.code, self.title, self.detail, instance)

    def headers(self) -> dict[str, str]:
        """The response headers that go with the problem (HTTP surfaces set them)."""
        headers = {}
        if self.challenge:
            headers["WWW-Authenticate"] = self.challenge
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return headers


# Documents


class SpecError(RegistryError):
    """A document (or a whole import run) is invalid; ``diagnostics`` says where and why."""

    code = "invalid_document"
    status = 400
    title = "Invalid capability document"

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = [d for d in diagnostics if d.is_error]
        self.warnings = [d for d in diagnostics if not d.is_error]
        super().__init__("\n".join(str(d) for d in self.diagnostics))


# The registry API (api/registry)


class CapabilityNotFound(RegistryError):
    code = "capability_not_found"
    status = 404
    title = "No such capability"


class CapabilityExists(RegistryError):
    """A ``POST`` of a document whose name the registry already holds (``PUT`` replaces)."""

    code = "capability_exists"
    status = 409
    title = "Capability exists"


class DocumentMissing(RegistryError):
    """A write without a document, or without the name that names it."""

    code = "document_missing"
    status = 400
    title = "No document given"


# The database


class DatabaseUnavailable(RegistryError):
    code = "database_unavailable"
    status = 503
    title = "Database unavailable"

    @classmethod
    def named(cls, error_name: str) -> DatabaseUnavailable:
        return cls(f"the registry's database is unreachable ({error_name})")


# Routing (runtime.catalog)


class RouteNotFound(RegistryError):
    code = "route_not_found"
    status = 404
    title = "No such route"


class OperationNotServed(RegistryError):
    """A part a lenient import kept although it cannot run (its call names nothing)."""

    code = "operation_not_served"
    status = 503
    title = "Operation not served"


class MethodNotAllowed(RegistryError):
    code = "method_not_allowed"
    status = 405
    title = "Method not allowed"

    def __init__(self, detail: str, allowed: list[str]) -> None:
        super().__init__(detail)
        self.allowed = allowed

    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allowed), **super().headers()}


# Calling an operation (runtime.invoke)


class InvalidParameter(RegistryError):
    code = "invalid_parameter"
    status = 400
    title = "Invalid parameter"


class MissingParameter(RegistryError):
    code = "missing_parameter"
    status = 400
    title = "Missing required parameter"


class UpstreamNotConfigured(RegistryError):
    code = "upstream_not_configured"
    status = 503
    title = "Upstream not configured"


class StepNotSupported(RegistryError):
    code = "step_not_supported"
    status = 501
    title = "Step type not supported"


class InvalidBody(RegistryError):
    code = "invalid_body"
    status = 400
    title = "Request body refused"


# Binds (runtime.templating)


class SecretMissing(RegistryError):
    code = "secret_missing"
    status = 503
    title = "A secret the capability needs is not set"


# The upstream (runtime.upstream, runtime.mapping)


class UpstreamUnreachable(RegistryError):
    code = "upstream_unreachable"
    status = 502
    title = "Upstream unreachable"
    retryable = True


class UpstreamInvalid(RegistryError):
    code = "upstream_invalid"
    status = 502
    title = "Invalid answer from the upstream"


class UpstreamTooLarge(RegistryError):
    code = "upstream_too_large"
    status = 502
    title = "Upstream answer too large"


class UpstreamTimeout(RegistryError):
    code = "upstream_timeout"
    status = 504
    title = "Upstream timeout"
    retryable = True


class UpstreamForbidden(RegistryError):
    code = "upstream_forbidden"
    status = 403
    title = "Upstream address not allowed"


class OutputTooComplex(RegistryError):
    code = "upstream_too_complex"
    status = 502
    title = "Upstream answer too complex"


# Tool arguments (MCP)


class InvalidArguments(RegistryError):
    """Tool arguments that do not match the tool's ``inputSchema``."""

    code = "invalid_arguments"
    status = 400
    title = "Invalid arguments"


# Request bodies (REST)


class BodyTooLarge(RegistryError):
    code = "body_too_large"
    status = 413
    title = "Request body too large"


class LengthRequired(RegistryError):
    code = "length_required"
    status = 411
    title = "Length required"


# Who is calling (access)


class NotAuthenticated(RegistryError):
    code = "not_authenticated"
    status = 401
    title = "Missing or bad credential"
    challenge = "Bearer"


class NotGranted(RegistryError):
    code = "not_granted"
    status = 403
    title = "Not granted"


class InvalidGrant(RegistryError):
    """A grant that names nothing the registry has; ``part`` is what is wrong in it
    (``capability`` or ``target``: the admin shows the error on that field)."""

    code = "invalid_grant"
    status = 400
    title = "Invalid grant"

    def __init__(self, detail: str, part: str = "capability") -> None:
        super().__init__(detail)
        self.part = part


class InvalidKey(RegistryError):
    """A key given to the registry (``DEMO_CLIENT_KEY``) that does not have a key's form."""

    code = "invalid_key"
    status = 400
    title = "Invalid client key"


class KeyNotAccepted(RegistryError):
    """A presented key that is unknown, revoked or expired (the detail says which)."""

    code = "invalid_client_key"
    status = 401
    title = "Invalid client key"


class InvalidToken(RegistryError):
    """An access token that is not one for this resource (the detail says why)."""

    code = "invalid_token"
    status = 401
    title = "Invalid access token"


class KeysUnavailable(RegistryError):
    """The issuer's keys cannot be had: no token can be checked now."""

    code = "jwks_unavailable"
    status = 503
    title = "Token keys unavailable"


class ResourceNotFound(RegistryError):
    code = "resource_not_found"
    status = 404
    title = "No such protected resource"


class InsufficientScope(NotGranted):
    code = "insufficient_scope"
    title = "Insufficient scope"


# Rate limits (access.ratelimit)


class InvalidRate(RegistryError):
    """A rate that does not parse. Keys and grants are validated when saved, so at call
    time only a wrong REGISTRY_RATE_LIMIT can raise it (system check E005 says so first)."""

    code = "invalid_rate"
    status = 500
    title = "Invalid rate limit"


class RateLimited(RegistryError):
    """A call over a limit: 429, ``Retry-After`` and the RateLimit fields of the call."""

    code = "rate_limited"
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int, fields: Mapping[str, str]) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.fields = dict(fields)  # the RateLimit fields of the refused call

    def headers(self) -> dict[str, str]:
        return {**super().headers(), **self.fields}


# Jobs


class QueueUnavailable(RegistryError):
    code = "queue_unavailable"
    status = 503
    title = "The job queue is unavailable"


class JobNotFound(RegistryError):
    code = "job_not_found"
    status = 404
    title = "No such job"


class JobNotCancellable(RegistryError):
    code = "job_not_cancellable"
    status = 409
    title = "The job can no longer be cancelled"


class IdempotencyKeyReused(RegistryError):
    code = "idempotency_key_reused"
    status = 422
    title = "Idempotency-Key reused for another request"


class JobInterrupted(RegistryError):
    code = "job_interrupted"
    status = 500
    title = "Job interrupted"


class ResultTooLarge(RegistryError):
    code = "result_too_large"
    status = 502
    title = "Result too large"


class UpstreamAnswered(RegistryError):
    """The upstream answered with an error status (the body is the job's result)."""

    code = "upstream_error"
    title = "Upstream error"

    def __init__(self, status: int) -> None:
        super().__init__(f"the upstream answered {status}")
        self.status = status


# The MCP Registry API (api.servers)


class ServerNotFound(RegistryError):
    """No enabled MCP expose has this server name (or not at this version)."""

    code = "server_not_found"
    status = 404
    title = "Server not found"

    def problem(self, instance: str = "") -> dict[str, Any]:
        # The reference's 404 body is {"error": "..."}: both shapes in one document.
        return {**super().problem(instance), "error": self.detail}
