"""The exposes family: a REST expose (resources, operations, parameters) and an MCP one
(tools, their parameters, resources, prompts).

Imports only Django, ``store.models.parts`` and ``store.models.documents``; what a part
calls (``ConsumedOperation``) or reuses (``AggregateFunction``) it names as a string.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from capabilities_app.store.models.documents import Capability
from capabilities_app.store.models.parts import (
    CallingPart,
    DocumentPart,
    Method,
    _call,
    _char,
    _json,
    _one_parent,
    _parent,
    _ref,
    _text,
    _unique,
    _with,
)

__all__ = [
    "Expose",
    "ExposedOperation",
    "ExposedParameter",
    "ExposedResource",
    "McpPrompt",
    "McpResource",
    "Tool",
    "ToolParameter",
]


class Expose(DocumentPart):
    """An ``exposes`` entry: a REST API, an MCP server, or a stored skill/control adapter."""

    class Type(models.TextChoices):
        REST = "rest", "REST"
        MCP = "mcp", "MCP"
        SKILL = "skill", "skill"
        CONTROL = "control", "control"

    capability = models.ForeignKey(Capability, on_delete=models.CASCADE, related_name="exposes")
    type = models.CharField(max_length=16, choices=Type.choices)
    namespace = models.CharField(
        max_length=255,
        null=True,
        blank=True,
        unique=True,
        help_text="Unique across the whole registry: it is the URL prefix (/rest/<ns>, /mcp/<ns>).",
    )
    transport = _char("transport", 16, help_text="MCP: http (default) or stdio.")
    address = _char("address")
    port = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    description = _text("description", help_text="For MCP, the server instructions.")
    authentication = _json("authentication")

    class Meta(DocumentPart.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.type}:{self.namespace or '-'}"

    def clean(self) -> None:
        super().clean()
        errors = {}
        if self.type != self.Type.CONTROL and not self.namespace:
            errors["namespace"] = f"A {self.type} expose needs a namespace."
        if self.type == self.Type.MCP and self.transport not in (None, "", "http", "stdio"):
            errors["transport"] = "An MCP transport is http or stdio."
        if errors:
            raise ValidationError(errors)

    def validate_unique(self, exclude=None) -> None:
        # Name the capability that owns a namespace, not just "already exists".
        if self.namespace and (exclude is None or "namespace" not in exclude):
            owner = (
                Expose.objects.filter(namespace=self.namespace)
                .exclude(pk=self.pk)
                .select_related("capability")
                .first()
            )
            if owner is not None:
                raise ValidationError(
                    {
                        "namespace": f"Namespace {self.namespace!r} is owned by capability "
                        f"{owner.capability.name!r}: expose namespaces are unique across the "
                        "registry."
                    }
                )
        super().validate_unique(exclude=exclude)


class ExposedResource(DocumentPart):
    """A path of a REST expose."""

    expose = models.ForeignKey(Expose, on_delete=models.CASCADE, related_name="rest_resources")
    path = models.CharField(max_length=2048, help_text="Served at /rest/<namespace><path>.")
    name = _char("name")
    label = _char("label", 500)
    description = _text("description")
    forward = _json("forward", help_text="{targetNamespace, trustedHeaders}: proxy the path.")

    class Meta(DocumentPart.Meta):
        constraints = [
            _unique(
                "exposed_resource_name_unique", "expose", "name", condition=Q(name__isnull=False)
            )
        ]

    def __str__(self) -> str:
        return self.path


class ExposedOperation(CallingPart):
    """A method on a REST path: calls a consumed operation, runs steps, reuses a ref, or mocks."""

    capability_id_path = "resource.expose.capability_id"

    resource = models.ForeignKey(
        ExposedResource, on_delete=models.CASCADE, related_name="operations"
    )
    method = models.CharField(max_length=8, choices=Method.choices)
    name = _char("name")
    label = _char("label", 500)
    description = _text("description")
    call = _call("exposed_operations")
    ref = _ref("exposed_operations")
    with_values = _with(help_text="Parameter name → value.")

    class Meta(DocumentPart.Meta):
        constraints = [
            _unique(
                "exposed_operation_name_unique", "resource", "name", condition=Q(name__isnull=False)
            )
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.name or ''}".strip()


class ExposedParameter(DocumentPart):
    """A declared input parameter of a REST resource or operation."""

    resource = _parent(ExposedResource, "parameters")
    operation = _parent(ExposedOperation, "parameters")
    name = models.CharField(max_length=255)
    location = _char("in", 16)
    type = _char("type", 64)
    description = _text("description")
    pattern = _char("pattern", 1024)
    value = _json("value", help_text="A value starting with $ is a JSONPath into the body.")
    required = models.BooleanField(null=True, blank=True)

    class Meta(DocumentPart.Meta):
        constraints = [_one_parent("exposed_parameter_one_parent", "resource", "operation")]

    def __str__(self) -> str:
        return self.name


class Tool(CallingPart):
    """An MCP tool."""

    capability_id_path = "expose.capability_id"

    expose = models.ForeignKey(Expose, on_delete=models.CASCADE, related_name="tools")
    name = models.CharField(max_length=255)
    label = _char("label", 500, help_text="Shown to clients as the tool's title.")
    description = _text("description")
    call = _call("tools")
    ref = _ref("tools")
    read_only_hint = models.BooleanField("readOnly hint", null=True, blank=True)
    destructive_hint = models.BooleanField("destructive hint", null=True, blank=True)
    idempotent_hint = models.BooleanField("idempotent hint", null=True, blank=True)
    open_world_hint = models.BooleanField("openWorld hint", null=True, blank=True)

    class Meta(DocumentPart.Meta):
        constraints = [_unique("tool_name_unique", "expose", "name")]

    def __str__(self) -> str:
        return self.name


class ToolParameter(DocumentPart):
    """An input parameter of an MCP tool or an aggregate function."""

    tool = _parent(Tool, "parameters")
    # Named as a string (this module does not import the aggregates family).
    function = models.ForeignKey(
        "AggregateFunction",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="parameters",
    )
    name = models.CharField(max_length=255)
    type = _char("type", 64)
    description = _text("description")
    required = models.BooleanField(null=True, blank=True, help_text="Empty means true.")

    class Meta(DocumentPart.Meta):
        constraints = [_one_parent("tool_parameter_one_parent", "tool", "function")]

    def __str__(self) -> str:
        return self.name


class McpResource(CallingPart):
    """A resource of an MCP expose: read through a call, or from a file location."""

    capability_id_path = "expose.capability_id"

    expose = models.ForeignKey(Expose, on_delete=models.CASCADE, related_name="mcp_resources")
    name = models.CharField(max_length=255)
    label = _char("label", 500)
    uri = _char("URI", 2048)
    description = _text("description")
    mime_type = _char("MIME type", 255)
    call = _call("mcp_resources")
    location = _char("location", 2048)

    class Meta(DocumentPart.Meta):
        verbose_name = "MCP resource"
        constraints = [_unique("mcp_resource_name_unique", "expose", "name")]

    def __str__(self) -> str:
        return self.name


class McpPrompt(DocumentPart):
    """A prompt of an MCP expose."""

    expose = models.ForeignKey(Expose, on_delete=models.CASCADE, related_name="prompts")
    name = models.CharField(max_length=255)
    label = _char("label", 500)
    description = _text("description")
    arguments = _json("arguments", help_text="[{name, description, required}]")
    template = _json("template", help_text="[{role, content}] with {{argument}} placeholders.")
    location = _char("location", 2048)

    class Meta(DocumentPart.Meta):
        verbose_name = "MCP prompt"
        constraints = [_unique("mcp_prompt_name_unique", "expose", "name")]

    def __str__(self) -> str:
        return self.name
