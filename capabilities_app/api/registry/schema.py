"""The registry API's OpenAPI document (drf-spectacular): what it lists, its security
scheme, and the request bodies and error answers the views declare.

``/api/v1/schema/`` describes the registry API alone (:func:`only_registry_api`); the
REST surface has one OpenAPI document per expose, and the jobs API is described in
docs/jobs.md. Errors are ``application/problem+json`` (:func:`problems`); a refused
document's problem lists its diagnostics. Documents go in as ``application/yaml`` or
as a multipart upload (:data:`DOCUMENT_BODY`); the export comes out as
``application/yaml``.

Must not import another surface, httpx or the MCP SDK.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from capabilities_app.api.registry.documents import UPLOAD_FIELD, YAML
from capabilities_app.api.registry.serializers import ProblemSerializer
from capabilities_app.core.errors import PROBLEM_JSON

__all__ = [
    "DOCUMENT_BODY",
    "FORCE",
    "NAME",
    "STRICT",
    "ClientKeyScheme",
    "only_registry_api",
    "problems",
]

PREFIX = "/api/v1/"
NOT_DESCRIBED = ("/api/v1/schema/", "/api/v1/docs/", "/api/v1/auth/")


def only_registry_api(endpoints: list[tuple[Any, ...]], **_: Any) -> list[tuple[Any, ...]]:
    """drf-spectacular's preprocessing hook: the registry API's own operations only."""
    return [
        endpoint
        for endpoint in endpoints
        if endpoint[0].startswith(PREFIX) and not endpoint[0].startswith(NOT_DESCRIBED)
    ]


class ClientKeyScheme(OpenApiAuthenticationExtension):
    """A client key as a bearer token (``X-API-Key: <key>`` works too)."""

    target_class = "capabilities_app.api.registry.authentication.ClientKeyAuthentication"
    name = "clientKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A client key (crk_…), as Authorization: Bearer <key> or "
            "X-API-Key: <key>. Writes need one granted registry:write.",
        }


_REASONS = {
    400: "The request or the document is refused (invalid_document lists the diagnostics).",
    401: "No credential, or a client key that is unknown, revoked or expired.",
    403: "A credential without the right (no registry:write, not staff, no CSRF token).",
    404: "No such capability (or page).",
    409: "A capability of that name exists (PUT replaces).",
    415: "The body is not application/yaml or multipart/form-data.",
}


def problems(*statuses: int) -> dict[Any, Any]:
    """Responses ``statuses`` as problem+json, for an ``extend_schema(responses=…)``."""
    return {
        (status, PROBLEM_JSON): OpenApiResponse(ProblemSerializer, description=_REASONS[status])
        for status in statuses
    }


DOCUMENT_BODY = {
    YAML: OpenApiTypes.STR,
    "multipart/form-data": inline_serializer(
        "DocumentUpload",
        {UPLOAD_FIELD: serializers.FileField(help_text="The YAML document; its name names it.")},
    ),
}

NAME = OpenApiParameter(
    "name",
    str,
    description="The capability's name in the registry: needed with an application/yaml "
    "body; an upload's default is its file name without the extension.",
)
STRICT = OpenApiParameter(
    "strict", bool, description="Hold the document to the official JSON Schema (--strict)."
)
FORCE = OpenApiParameter(
    "force", bool, description="Overwrite edits made in the admin since the last import."
)
