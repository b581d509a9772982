"""The JSON shapes of the registry API's answers (and so of its OpenAPI schema).

Read-only serializers over ``reading``'s dataclasses and the importer's outcomes; the
problem shape is the one ``api.problems`` and ``core.errors`` give every error, with the
document's diagnostics (``errors``, ``warnings``) when a document is refused.

Must not import another surface, httpx or the MCP SDK.
"""

from __future__ import annotations

from rest_framework import serializers

from capabilities_app.core.errors import Diagnostic
from capabilities_app.store.importer import Outcome
from capabilities_app.store.reporting import warning_lines

__all__ = [
    "CapabilityDetailSerializer",
    "CapabilitySummarySerializer",
    "DiagnosticSerializer",
    "ImportResultSerializer",
    "ProblemSerializer",
    "ValidationResultSerializer",
    "diagnostics",
    "outcome_data",
]


class ExposeSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="rest, mcp, skill or control.")
    namespace = serializers.CharField(allow_null=True)
    url = serializers.CharField(
        allow_null=True,
        help_text="REST: the base every path is appended to; MCP: the streamable HTTP URL. "
        "Null for an expose the registry keeps but does not serve.",
    )
    openapi_url = serializers.CharField(allow_null=True, help_text="REST only.")
    docs_url = serializers.CharField(allow_null=True, help_text="REST only.")
    stdio_command = serializers.ListField(
        child=serializers.CharField(), allow_null=True, help_text="MCP only."
    )


class CapabilitySummarySerializer(serializers.Serializer):
    name = serializers.CharField()
    url = serializers.CharField(help_text="This capability in the registry API.")
    kind = serializers.CharField(help_text="capability, or consumes (a shared document).")
    enabled = serializers.BooleanField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    description = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    exposes = ExposeSerializer(many=True)
    operation_count = serializers.IntegerField(help_text="Exposed REST operations.")
    tool_count = serializers.IntegerField(help_text="MCP tools.")
    updated_at = serializers.DateTimeField()


class ConsumedOperationSerializer(serializers.Serializer):
    name = serializers.CharField()
    method = serializers.CharField()
    path = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label


class ConsumesSerializer(serializers.Serializer):
    namespace = serializers.CharField()
    type = serializers.CharField()
    description = serializers.CharField()
    base_uri = serializers.CharField()
    authentication_type = serializers.CharField(
        allow_null=True, help_text="bearer, basic, digest, apikey or oauth2; never a secret."
    )
    imported_from = serializers.CharField(allow_null=True)
    operations = ConsumedOperationSerializer(many=True)


class OperationSerializer(serializers.Serializer):
    namespace = serializers.CharField(help_text="The REST expose's namespace.")
    name = serializers.CharField()
    method = serializers.CharField()
    path = serializers.CharField()
    url = serializers.CharField(help_text="Where the registry serves it.")
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    description = serializers.CharField()
    calls = serializers.CharField(allow_null=True, help_text="namespace.operation it calls.")


class HintsSerializer(serializers.Serializer):
    readOnly = serializers.BooleanField(allow_null=True)
    destructive = serializers.BooleanField(allow_null=True)
    idempotent = serializers.BooleanField(allow_null=True)
    openWorld = serializers.BooleanField(allow_null=True)


class ToolSerializer(serializers.Serializer):
    namespace = serializers.CharField(help_text="The MCP expose's namespace.")
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    description = serializers.CharField()
    hints = HintsSerializer(help_text="As declared; null where the document says nothing.")
    url = serializers.CharField(help_text="The MCP endpoint (streamable HTTP).")


class CapabilityDetailSerializer(serializers.Serializer):
    name = serializers.CharField()
    url = serializers.CharField()
    export_url = serializers.CharField(help_text="The YAML document (export).")
    catalog_url = serializers.CharField(help_text="The capability's page in the catalog.")
    kind = serializers.CharField()
    enabled = serializers.BooleanField()
    spec_version = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    description = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    created = serializers.CharField(help_text="info.created, as written.")
    modified = serializers.CharField(help_text="info.modified, as written.")
    imported_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(
        allow_null=True, help_text="Last admin edit since the last import."
    )
    consumes = ConsumesSerializer(many=True)
    operations = OperationSerializer(many=True)
    exposes = ExposeSerializer(many=True)
    tools = ToolSerializer(many=True)


class DiagnosticSerializer(serializers.Serializer):
    message = serializers.CharField(
        help_text="FILE:LINE:COLUMN: key.path: message, as manage.py import_capability prints it."
    )
    code = serializers.CharField()
    origin = serializers.CharField()
    line = serializers.IntegerField()
    column = serializers.IntegerField()
    key_path = serializers.CharField()


def diagnostics(items: list[Diagnostic]) -> list[dict[str, object]]:
    return [
        {
            "message": str(d),
            "code": d.code,
            "origin": d.origin,
            "line": d.line,
            "column": d.column,
            "key_path": d.key_path,
        }
        for d in items
    ]


class ImportResultSerializer(serializers.Serializer):
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=["created", "updated", "unchanged"])
    operations = serializers.IntegerField(help_text="Consumed operations, as the command counts.")
    tools = serializers.IntegerField()
    line = serializers.CharField(help_text="The line manage.py import_capability prints.")
    warnings = serializers.ListField(
        child=serializers.CharField(), help_text="Grouped as the command prints them."
    )
    url = serializers.CharField()


class ValidationResultSerializer(serializers.Serializer):
    name = serializers.CharField()
    valid = serializers.BooleanField()
    operations = serializers.IntegerField()
    tools = serializers.IntegerField()
    warnings = serializers.ListField(child=serializers.CharField())


def outcome_data(outcome: Outcome) -> dict[str, object]:
    return {
        "name": outcome.name,
        "status": outcome.status,
        "operations": outcome.operations,
        "tools": outcome.tools,
        "line": outcome.line,
        "warnings": [line.strip() for line in warning_lines(outcome)],
    }


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details with the registry's stable ``code``."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Stable: what the failure is.")
    instance = serializers.CharField(required=False)
    errors = DiagnosticSerializer(  # type: ignore[assignment]  # a field named like .errors
        many=True, required=False, help_text="invalid_document: every error of the document."
    )
    warnings = DiagnosticSerializer(many=True, required=False)
