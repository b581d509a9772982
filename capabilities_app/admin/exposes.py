"""The admin pages of exposes and aggregates: a REST expose's resources, operations
and parameters; an MCP expose's tools, resources and prompts; aggregates and their
functions (which take tool parameters).

Tools, REST operations and aggregate functions call consumed operations; their pages
check ``with`` references through ``checking`` (``CallerForm``, ``ParameterFormSet``).
A surface module: it may import the domain (``store``, ``runtime``, ``access``,
``jobs``), never ``api`` or ``mcp``.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from capabilities_app.admin.base import (
    CALLING_FIELDS,
    PART_FIELDS,
    PartAdmin,
    PartInline,
    link,
    served_at,
)
from capabilities_app.admin.forms import CallerForm, ParameterFormSet
from capabilities_app.store import models as m
from capabilities_app.store.served import rest_url

# --------------------------------------------------------------------------- exposes


class ToolInline(PartInline):
    model = m.Tool
    fields = (
        "position",
        "name",
        "label",
        "description",
        "call",
        "read_only_hint",
        "destructive_hint",
        "idempotent_hint",
        "open_world_hint",
    )
    autocomplete_fields = ("call",)


class ExposedResourceInline(PartInline):
    model = m.ExposedResource
    fields = ("position", "path", "name", "description")


class McpResourceInline(PartInline):
    model = m.McpResource
    fields = ("position", "name", "label", "uri", "mime_type", "call", "location")
    autocomplete_fields = ("call",)


class McpPromptInline(PartInline):
    model = m.McpPrompt
    fields = ("position", "name", "label", "description")


@admin.register(m.Expose)
class ExposeAdmin(PartAdmin):
    list_display = ("namespace", "type", "capability", "served_at", "transport")
    list_filter = ("type",)
    search_fields = ("namespace", "capability__name")
    list_select_related = ("capability",)

    def get_inlines(self, request: HttpRequest, obj: m.Expose | None):
        if obj is None:
            return ()
        if obj.type == m.Expose.Type.REST:
            return (ExposedResourceInline,)
        if obj.type == m.Expose.Type.MCP:
            return (ToolInline, McpResourceInline, McpPromptInline)
        return ()

    @admin.display(description="served at")
    def served_at(self, obj: m.Expose) -> str:
        return served_at(obj)


class ExposedParameterInline(PartInline):
    model = m.ExposedParameter
    formset = ParameterFormSet
    fields = ("position", "name", "location", "type", "required", "value", "description")
    show_change_link = False


class ResourceExposedParameterInline(ExposedParameterInline):
    fk_name = "resource"


class OperationExposedParameterInline(ExposedParameterInline):
    fk_name = "operation"


class ExposedOperationInline(PartInline):
    model = m.ExposedOperation
    fields = ("position", "method", "name", "description", "call")
    autocomplete_fields = ("call",)


@admin.register(m.ExposedResource)
class ExposedResourceAdmin(PartAdmin):
    list_display = ("path", "name", "expose")
    search_fields = ("path", "name", "expose__namespace")
    list_select_related = ("expose",)
    inlines = (ResourceExposedParameterInline, ExposedOperationInline)


@admin.register(m.ExposedOperation)
class ExposedOperationAdmin(PartAdmin):
    form = CallerForm
    # The page's field order (see CALLING_FIELDS); output parameters come before steps here.
    fields = (
        *PART_FIELDS,
        "resource",
        "method",
        "name",
        "label",
        "description",
        "call",
        "ref",
        "with_values",
        "output_parameters",
        "steps",
        "mappings",
    )
    list_display = ("__str__", "resource", "served_at", "call", "capability_link")
    list_filter = ("method",)
    search_fields = ("name", "resource__path", "resource__expose__namespace")
    autocomplete_fields = ("call", "ref")
    list_select_related = ("resource__expose__capability", "call__resource__consumes")
    inlines = (OperationExposedParameterInline,)

    @admin.display(description="served at")
    def served_at(self, obj: m.ExposedOperation) -> str:
        expose = obj.resource.expose
        if expose.type != m.Expose.Type.REST or not expose.namespace:
            return "-"
        return f"{obj.method} {rest_url(expose.namespace, obj.resource.path)}"

    @admin.display(description="capability")
    def capability_link(self, obj: m.ExposedOperation) -> str:
        return link(obj.resource.expose.capability)


@admin.register(m.ExposedParameter)
class ExposedParameterAdmin(PartAdmin):
    list_display = ("name", "location", "type", "resource", "operation")
    search_fields = ("name",)


class ToolParameterInline(PartInline):
    model = m.ToolParameter
    formset = ParameterFormSet
    fields = ("position", "name", "type", "required", "description")
    show_change_link = False


class ToolToolParameterInline(ToolParameterInline):
    fk_name = "tool"


class FunctionToolParameterInline(ToolParameterInline):
    fk_name = "function"


@admin.register(m.Tool)
class ToolAdmin(PartAdmin):
    form = CallerForm
    list_display = (
        "name",
        "expose",
        "capability_link",
        "call",
        "read_only_hint",
        "destructive_hint",
    )
    list_filter = ("read_only_hint", "destructive_hint", "idempotent_hint", "open_world_hint")
    search_fields = (
        "name",
        "label",
        "description",
        "expose__namespace",
        "expose__capability__name",
    )
    autocomplete_fields = ("call", "ref")
    list_select_related = ("expose__capability", "call__resource__consumes")
    fieldsets = (
        (None, {"fields": ("expose", "position", "name", "label", "description")}),
        (
            "Hints (empty: not given)",
            {
                "fields": (
                    "read_only_hint",
                    "destructive_hint",
                    "idempotent_hint",
                    "open_world_hint",
                )
            },
        ),
        ("Execution", {"fields": ("call", "with_values", "ref", "steps", "mappings")}),
        ("Output", {"fields": ("output_parameters",)}),
        ("Other keys", {"classes": ("collapse",), "fields": ("extra",)}),
    )
    inlines = (ToolToolParameterInline,)

    @admin.display(description="capability", ordering="expose__capability__name")
    def capability_link(self, obj: m.Tool) -> str:
        return link(obj.expose.capability)


@admin.register(m.ToolParameter)
class ToolParameterAdmin(PartAdmin):
    list_display = ("name", "type", "required", "tool", "function")
    search_fields = ("name",)


@admin.register(m.McpResource)
class McpResourceAdmin(PartAdmin):
    fields = (
        *PART_FIELDS,
        "expose",
        "name",
        "label",
        "uri",
        "description",
        "mime_type",
        "call",
        *CALLING_FIELDS,
        "location",
    )
    list_display = ("name", "uri", "expose")
    search_fields = ("name", "uri")
    autocomplete_fields = ("call",)


@admin.register(m.McpPrompt)
class McpPromptAdmin(PartAdmin):
    list_display = ("name", "label", "expose")
    search_fields = ("name", "label")


# --------------------------------------------------------------------------- aggregates


class AggregateFunctionInline(PartInline):
    model = m.AggregateFunction
    fields = ("position", "name", "description", "call")
    autocomplete_fields = ("call",)


@admin.register(m.Aggregate)
class AggregateAdmin(PartAdmin):
    list_display = ("namespace", "label", "capability")
    search_fields = ("namespace", "label")
    inlines = (AggregateFunctionInline,)


@admin.register(m.AggregateFunction)
class AggregateFunctionAdmin(PartAdmin):
    form = CallerForm
    fields = (
        *PART_FIELDS,
        "aggregate",
        "name",
        "description",
        "semantics",
        "call",
        *CALLING_FIELDS,
    )
    list_display = ("name", "aggregate", "call")
    search_fields = ("name", "aggregate__namespace")
    autocomplete_fields = ("call",)
    inlines = (FunctionToolParameterInline,)
