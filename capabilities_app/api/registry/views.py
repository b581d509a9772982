"""The registry API's views: thin, each one parse, one domain call, one answer.

``/api/v1/capabilities/`` lists (GET: search, filters, pages) and imports (POST);
``/api/v1/capabilities/<name>/`` reads (GET), replaces (PUT) and deletes (DELETE);
``…/<name>/export/`` gives the YAML ``export_capability`` writes; ``/api/v1/validate/``
checks a document as an import would. Every view answers JSON or DRF's browsable HTML,
and every error as problem+json (always JSON, whatever the browser asked for).

Must not import another surface, httpx or the MCP SDK.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django_filters.rest_framework.backends import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics
from rest_framework.exceptions import ParseError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from capabilities_app.api.registry import documents, reading
from capabilities_app.api.registry.authentication import AUTHENTICATORS
from capabilities_app.api.registry.documents import YAML, YamlDocumentParser, flag
from capabilities_app.api.registry.filters import CapabilityFilter
from capabilities_app.api.registry.permissions import Refused, RegistryAccess, Unauthenticated
from capabilities_app.api.registry.schema import DOCUMENT_BODY, FORCE, NAME, STRICT, problems
from capabilities_app.api.registry.serializers import (
    CapabilityDetailSerializer,
    CapabilitySummarySerializer,
    ImportResultSerializer,
    ValidationResultSerializer,
    diagnostics,
    outcome_data,
)
from capabilities_app.core.errors import CapabilityExists, SpecError
from capabilities_app.store import served
from capabilities_app.store.editing import delete_capability
from capabilities_app.store.exporter import export_yaml
from capabilities_app.store.importer import Outcome
from capabilities_app.store.models import Capability

__all__ = [
    "CapabilityDetailView",
    "CapabilityExportView",
    "CapabilityListView",
    "RegistryRootView",
    "ValidateView",
]


class Pages(PageNumberPagination):
    """Pages by number (``?page=2``), 50 by default, ``?page_size=`` up to 200."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int:
        # DRF falls back to the default for a page size that is no number; here it is 400.
        given = request.query_params.getlist(self.page_size_query_param)
        if not given:
            return self.page_size
        if len(given) > 1 or not given[0].isdigit() or int(given[0]) < 1:
            raise ParseError("?page_size= is a whole number from 1 (at most 200 are given)")
        return min(int(given[0]), self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters


class RegistryAPI(APIView):
    """What every view of the registry API shares."""

    authentication_classes = AUTHENTICATORS
    permission_classes = (RegistryAccess,)
    renderer_classes = (JSONRenderer, BrowsableAPIRenderer)
    parser_classes = (YamlDocumentParser, MultiPartParser)
    throttle_classes = ()
    writes = True  # the view's unsafe methods change the registry

    def permission_denied(self, request: Request, message: str | None = None, code=None):
        if request.authenticators and not request.successful_authenticator:
            raise Unauthenticated(message)
        raise Refused(message)

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if isinstance(exc, exceptions.ValidationError):
            # A filter's errors, by parameter, as one line (not DRF's nested structure).
            response.data["detail"] = "; ".join(_messages(exc.detail))
        if isinstance(exc, SpecError):
            response.data["errors"] = diagnostics(exc.diagnostics)
            response.data["warnings"] = diagnostics(exc.warnings)
        if response.status_code == 401 and "WWW-Authenticate" not in response:
            response["WWW-Authenticate"] = getattr(exc, "auth_header", None) or "Bearer"
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any):
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and response.exception:
            # A problem is JSON, even for a browser that asked for the browsable page.
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return response


def _messages(detail: Any, where: str = "") -> list[str]:
    if isinstance(detail, dict):
        return [m for key, value in detail.items() for m in _messages(value, str(key))]
    if isinstance(detail, list):
        return [m for value in detail for m in _messages(value, where)]
    return [f"{where}: {detail}" if where else str(detail)]


def _imported(outcome: Outcome, status: int) -> Response:
    url = served.capability_api_url(outcome.name)
    response = Response({**outcome_data(outcome), "url": url}, status=status)
    if status == 201:
        response["Location"] = url
    return response


@extend_schema(exclude=True)
class RegistryRootView(RegistryAPI):
    """The registry API: capabilities, validation, the schema and its docs."""

    def get(self, request: Request) -> Response:
        return Response(
            {
                "capabilities": served.registry_api_url("capabilities/"),
                "validate": served.registry_api_url("validate/"),
                "schema": served.registry_api_url("schema/"),
                "docs": served.registry_api_url("docs/"),
                "jobs": "/api/jobs/<id> (docs/jobs.md)",
            }
        )


class CapabilityListView(RegistryAPI, generics.ListAPIView):
    """Capabilities by name: search and filter them, or import a new one."""

    serializer_class = CapabilitySummarySerializer
    filter_backends = (DjangoFilterBackend,)
    filterset_class = CapabilityFilter
    pagination_class = Pages

    def get_queryset(self):
        return reading.listed()

    @extend_schema(
        operation_id="capabilities_list",
        responses={200: CapabilitySummarySerializer(many=True), **problems(400, 401, 403, 404)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        summaries = [reading.summarize(capability) for capability in page or []]
        return self.get_paginated_response(CapabilitySummarySerializer(summaries, many=True).data)

    @extend_schema(
        operation_id="capabilities_create",
        request=DOCUMENT_BODY,
        parameters=[NAME, STRICT],
        responses={201: ImportResultSerializer, **problems(400, 401, 403, 409, 415)},
        description="Import a new capability (as manage.py import_capability does). A "
        "document with an error: 400 with its FILE:LINE:COLUMN diagnostics, nothing written.",
    )
    def post(self, request: Request) -> Response:
        document = documents.document_of(request)
        if Capability.objects.filter(name=document.name).exists():
            raise CapabilityExists(
                f"a capability named {document.name!r} exists: PUT "
                f"{served.capability_api_url(document.name)} replaces it"
            )
        outcome = documents.store(document, strict=flag(request, "strict"), force=False)
        return _imported(outcome, 201)


class CapabilityDetailView(RegistryAPI):
    """One capability: read it, replace its document, or delete it."""

    @extend_schema(
        operation_id="capabilities_retrieve",
        responses={200: CapabilityDetailSerializer, **problems(401, 403, 404)},
    )
    def get(self, request: Request, name: str) -> Response:
        return Response(CapabilityDetailSerializer(reading.describe(name)).data)

    @extend_schema(
        operation_id="capabilities_replace",
        request=DOCUMENT_BODY,
        parameters=[STRICT, FORCE],
        responses={
            200: OpenApiResponse(ImportResultSerializer, description="Replaced (or unchanged)."),
            201: OpenApiResponse(ImportResultSerializer, description="Created."),
            **problems(400, 401, 403, 415),
        },
        description="Import the document as this capability, replacing what it holds "
        "(created when there is none). Admin edits since the last import are not "
        "overwritten unless ?force=true.",
    )
    def put(self, request: Request, name: str) -> Response:
        document = documents.document_of(request, name=name)
        outcome = documents.store(
            document, strict=flag(request, "strict"), force=flag(request, "force")
        )
        return _imported(outcome, 201 if outcome.status == "created" else 200)

    @extend_schema(
        operation_id="capabilities_destroy",
        responses={204: None, **problems(401, 403, 404)},
    )
    def delete(self, request: Request, name: str) -> Response:
        delete_capability(reading.get_capability(name))
        return Response(status=204)


class CapabilityExportView(RegistryAPI):
    """The capability's YAML document, byte for byte what ``export_capability`` writes."""

    @extend_schema(
        operation_id="capabilities_export",
        parameters=[
            OpenApiParameter(
                "inline_imports",
                bool,
                description="Write imported consumes blocks in full (--inline-imports).",
            )
        ],
        responses={
            (200, YAML): OpenApiResponse(OpenApiTypes.STR, description="The YAML document."),
            **problems(401, 403, 404),
        },
    )
    def get(self, request: Request, name: str) -> HttpResponse:
        capability = reading.get_capability(name)
        text = export_yaml(capability, inline_imports=flag(request, "inline_imports"))
        response = HttpResponse(text.encode("utf-8"), content_type=f"{YAML}; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="{capability.name}.yaml"'
        # The document's text is the importer's, not the registry's: no script runs in it.
        response["Content-Security-Policy"] = "sandbox"
        return response


class ValidateView(RegistryAPI):
    """Check a document as an import would (namespace owners included); write nothing."""

    writes = False

    @extend_schema(
        operation_id="validate",
        request=DOCUMENT_BODY,
        parameters=[NAME, STRICT],
        responses={200: ValidationResultSerializer, **problems(400, 401, 403, 415)},
        description="As manage.py validate_capability: 200 when the document would "
        "import, else 400 with its FILE:LINE:COLUMN diagnostics.",
    )
    def post(self, request: Request) -> Response:
        outcome = documents.check(documents.document_of(request), strict=flag(request, "strict"))
        data = outcome_data(outcome)
        return Response(
            {
                "name": outcome.name,
                "valid": True,
                "operations": outcome.operations,
                "tools": outcome.tools,
                "warnings": data["warnings"],
            }
        )
