"""The admin pages of consumes blocks: a block, its resources, operations and their
input and output parameters (the upstream side of a capability).

A surface module: it may import the domain (``store``, ``runtime``, ``access``,
``jobs``), never ``api`` or ``mcp``.
"""

from __future__ import annotations

from django.contrib import admin

from capabilities_app.admin.base import PartAdmin, PartInline, link
from capabilities_app.store import models as m


class ConsumedParameterInline(PartInline):
    model = m.ConsumedParameter
    fields = ("position", "name", "location", "value", "type", "required", "description")
    show_change_link = False


class ConsumesParameterInline(ConsumedParameterInline):
    fk_name = "consumes"
    verbose_name_plural = "input parameters (all operations)"


class ResourceParameterInline(ConsumedParameterInline):
    fk_name = "resource"
    verbose_name_plural = "input parameters (all operations of this resource)"


class OperationParameterInline(ConsumedParameterInline):
    fk_name = "operation"
    verbose_name_plural = "input parameters"


class ConsumedResourceInline(PartInline):
    model = m.ConsumedResource
    fields = ("position", "name", "path", "label", "description")


@admin.register(m.Consumes)
class ConsumesAdmin(PartAdmin):
    list_display = ("namespace", "capability", "base_uri", "is_imported")
    list_filter = ("capability__enabled",)
    search_fields = ("namespace", "capability__name", "base_uri")
    fieldsets = (
        (None, {"fields": ("capability", "scope", "position", "namespace", "type")}),
        ("Upstream", {"fields": ("base_uri", "authentication", "description")}),
        (
            "Imported from another document",
            {
                "classes": ("collapse",),
                "fields": (
                    "import_location",
                    "import_name",
                    "import_alias",
                    "import_description",
                    "import_sha256",
                ),
            },
        ),
        ("Other keys", {"classes": ("collapse",), "fields": ("extra",)}),
    )
    inlines = (ConsumesParameterInline, ConsumedResourceInline)

    @admin.display(boolean=True, description="imported")
    def is_imported(self, obj: m.Consumes) -> bool:
        return obj.is_imported


class ConsumedOperationInline(PartInline):
    model = m.ConsumedOperation
    fields = ("position", "name", "method", "description", "output_raw_format")


@admin.register(m.ConsumedResource)
class ConsumedResourceAdmin(PartAdmin):
    list_display = ("name", "path", "consumes", "capability_link")
    search_fields = ("name", "path", "consumes__namespace")
    inlines = (ResourceParameterInline, ConsumedOperationInline)
    list_select_related = ("consumes__capability",)

    @admin.display(description="capability")
    def capability_link(self, obj: m.ConsumedResource) -> str:
        return link(obj.consumes.capability)


class ConsumedOutputParameterInline(PartInline):
    model = m.ConsumedOutputParameter
    fields = ("position", "name", "type", "value")
    show_change_link = False


@admin.register(m.ConsumedOperation)
class ConsumedOperationAdmin(PartAdmin):
    list_display = ("name", "method", "resource_path", "namespace", "capability_link")
    list_filter = ("method",)
    search_fields = ("name", "description", "resource__path", "resource__consumes__namespace")
    list_select_related = ("resource__consumes__capability",)
    inlines = (OperationParameterInline, ConsumedOutputParameterInline)

    def get_search_results(self, request, queryset, search_term):
        queryset, distinct = super().get_search_results(request, queryset, search_term)
        return queryset.select_related("resource__consumes"), distinct

    @admin.display(description="path")
    def resource_path(self, obj: m.ConsumedOperation) -> str:
        return obj.resource.path

    @admin.display(description="consumes")
    def namespace(self, obj: m.ConsumedOperation) -> str:
        return obj.resource.consumes.namespace

    @admin.display(description="capability")
    def capability_link(self, obj: m.ConsumedOperation) -> str:
        return link(obj.resource.consumes.capability)


@admin.register(m.ConsumedParameter)
class ConsumedParameterAdmin(PartAdmin):
    list_display = ("name", "location", "type", "required", "operation", "resource", "consumes")
    search_fields = ("name",)


@admin.register(m.ConsumedOutputParameter)
class ConsumedOutputParameterAdmin(PartAdmin):
    list_display = ("name", "type", "value", "operation")
