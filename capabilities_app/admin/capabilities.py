"""The admin: where people see and edit every part of every capability.

Each part has its own change page; a parent's page lists its children inline with a
link to each child's page (per-level pages scale to capabilities with hundreds of
operations, where one nested page would not). The capability page also lists all
its operations and tools. The admin holds no logic of its own: its actions and its
Import YAML page call the importer and exporter, the same code the commands run;
client keys are made, checked and revoked by ``clients``, as the key commands do.
"""

from __future__ import annotations

import io
import zipfile

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import slugify

from capabilities_app.access import clients
from capabilities_app.admin.forms import (
    CallerForm,
    ClientGrantForm,
    ImportYamlForm,
    ParameterFormSet,
    PartForm,
)
from capabilities_app.core.errors import SpecError
from capabilities_app.jobs import access as jobs
from capabilities_app.store import editing, versioning
from capabilities_app.store import models as m
from capabilities_app.store.exporter import export_yaml
from capabilities_app.store.importer import import_documents, registry_import_resolver, upload_input
from capabilities_app.store.loader import format_key_path, parse_source
from capabilities_app.store.reporting import error_lines, summary_line, warning_lines
from capabilities_app.store.specs import parse_document


def _link(obj, text: str | None = None) -> str:
    if obj is None:
        return "-"
    url = reverse(f"admin:capabilities_app_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text or str(obj))


class PartAdmin(admin.ModelAdmin):
    """Every change made here goes through ``editing.record_edit`` (stamp, imports)."""

    form = PartForm
    save_on_top = True

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        editing.record_edit([obj] if form.has_changed() else [])

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        touched = []
        for formset in formsets:
            touched += formset.new_objects + formset.deleted_objects
            touched += [obj for obj, _fields in formset.changed_objects]
        # The page's own object too: a deleted inline row may no longer lead to its capability.
        editing.record_edit([form.instance, *touched] if touched else [])

    def delete_model(self, request, obj) -> None:
        editing.record_edit([obj])
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        editing.record_edit(list(queryset))
        super().delete_queryset(request, queryset)

    def get_search_results(self, request, queryset, search_term):
        # Searching across reverse relations would need SELECT DISTINCT, which PostgreSQL
        # cannot apply to json columns: deduplicate through the primary keys instead.
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if may_have_duplicates:
            found = queryset.filter(pk__in=found.values("pk"))
        return found, False


class PartInline(admin.TabularInline):
    form = PartForm
    extra = 0
    show_change_link = True


# --------------------------------------------------------------------------- capability


class TagFilter(admin.SimpleListFilter):
    title = "tag"
    parameter_name = "tag"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        names = m.CapabilityTag.objects.order_by("name").values_list("name", flat=True)
        return [(n, n) for n in dict.fromkeys(names)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(
                pk__in=m.CapabilityTag.objects.filter(name=self.value()).values("capability")
            )
        return queryset


class ExposeTypeFilter(admin.SimpleListFilter):
    title = "expose type"
    parameter_name = "expose_type"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return list(m.Expose.Type.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(
                pk__in=m.Expose.objects.filter(type=self.value()).values("capability")
            )
        return queryset


class TagInline(admin.TabularInline):
    model = m.CapabilityTag
    extra = 0
    fields = ("position", "name")


class BindInline(PartInline):
    model = m.Bind
    fields = ("position", "scope", "namespace", "location", "description")


class ConsumesInline(PartInline):
    model = m.Consumes
    fields = ("position", "namespace", "type", "base_uri", "import_location", "description")


class ExposeInline(PartInline):
    model = m.Expose
    fields = ("position", "type", "namespace", "port", "address", "transport", "description")


class AggregateInline(PartInline):
    model = m.Aggregate
    fields = ("position", "namespace", "label")


@admin.register(m.Capability)
class CapabilityAdmin(PartAdmin):
    list_display = (
        "name",
        "label",
        "kind",
        "enabled",
        "spec_version",
        "operation_count",
        "tool_count",
        "imported_at",
    )
    list_filter = (TagFilter, ExposeTypeFilter, "enabled", "kind", "spec_version")
    search_fields = (
        "name",
        "label",
        "tags__name",
        "exposes__namespace",
        "consumes__namespace",
    )
    readonly_fields = (
        "operations_overview",
        "tools_overview",
        "source_origin",
        "source_sha256",
        "imported_at",
        "edited_at",
        "updated_at",
        "source_document_view",
        "unserved_parts_view",
    )
    fieldsets = (
        (None, {"fields": ("name", "kind", "enabled", "spec_version")}),
        ("Info", {"fields": ("label", "description", "created", "modified", "stakeholders")}),
        ("Operations and tools", {"fields": ("operations_overview", "tools_overview")}),
        ("Kept but not served", {"classes": ("collapse",), "fields": ("unserved_parts_view",)}),
        ("Other keys", {"classes": ("collapse",), "fields": ("extra",)}),
        (
            "Provenance",
            {
                "classes": ("collapse",),
                "fields": (
                    "source_origin",
                    "source_sha256",
                    "imported_at",
                    "edited_at",
                    "updated_at",
                    "source_document_view",
                ),
            },
        ),
    )
    inlines = (TagInline, BindInline, ConsumesInline, ExposeInline, AggregateInline)
    actions = ("export_yaml_action", "validate_action", "enable_action", "disable_action")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _operations=Count("consumes__resources__operations", distinct=True),
                _tools=Count("exposes__tools", distinct=True),
            )
        )

    @admin.display(description="operations", ordering="_operations")
    def operation_count(self, obj: m.Capability) -> int:
        return obj._operations

    @admin.display(description="tools", ordering="_tools")
    def tool_count(self, obj: m.Capability) -> int:
        return obj._tools

    @admin.display(description="consumed operations")
    def operations_overview(self, obj: m.Capability) -> str:
        operations = m.ConsumedOperation.objects.filter(
            resource__consumes__capability=obj
        ).select_related("resource__consumes")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (_link(op, op.call_name), op.method, op.resource.path, op.description or "")
                for op in operations
            ),
        )
        if not rows:
            return "-"
        return format_html(
            '<table class="overview"><tr><th>call</th><th>method</th><th>path</th>'
            "<th>description</th></tr>{}</table>",
            rows,
        )

    @admin.display(description="MCP tools")
    def tools_overview(self, obj: m.Capability) -> str:
        tools = m.Tool.objects.filter(expose__capability=obj).select_related(
            "expose", "call__resource__consumes"
        )
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    _link(t, t.name),
                    t.expose.namespace,
                    _call_shown(t),
                    t.description or "",
                )
                for t in tools
            ),
        )
        if not rows:
            return "-"
        return format_html(
            '<table class="overview"><tr><th>tool</th><th>expose</th><th>call</th>'
            "<th>description</th></tr>{}</table>",
            rows,
        )

    @admin.display(description="source document")
    def source_document_view(self, obj: m.Capability) -> str:
        return format_html('<pre class="source-document">{}</pre>', obj.source_document)

    @admin.display(description="parts kept but not served")
    def unserved_parts_view(self, obj: m.Capability) -> str:
        parts = obj.unserved_parts or []
        if not parts:
            return "-"
        return format_html_join(
            "",
            '<p class="unserved-part"><strong>{}</strong>: {}</p>',
            (
                (format_key_path(tuple(part.get("path") or ())), part.get("reason") or "")
                for part in parts
            ),
        )

    # -- actions

    @admin.action(description="Export selected as YAML")
    def export_yaml_action(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        capabilities = list(queryset)
        if len(capabilities) == 1:
            return _yaml_response(capabilities[0])
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for capability in capabilities:
                archive.writestr(f"{capability.name}.yaml", export_yaml(capability))
        response = HttpResponse(buffer.getvalue(), content_type="application/zip")
        response["Content-Disposition"] = 'attachment; filename="capabilities.zip"'
        return response

    @admin.action(description="Validate selected (lenient and strict)")
    def validate_action(self, request: HttpRequest, queryset: QuerySet) -> None:
        max_bytes = settings.REGISTRY_MAX_DOCUMENT_BYTES
        for capability in queryset:
            text = export_yaml(capability, inline_imports=True)
            results = []
            for strict in (False, True):
                try:
                    source = parse_source(text, origin=capability.name, max_bytes=max_bytes)
                    parsed = parse_document(source, name=capability.name, strict=strict)
                    results.append((True, len(parsed.warnings), []))
                except SpecError as exc:
                    results.append((False, len(exc.warnings), exc.diagnostics))
            (ok, warnings, errors), (strict_ok, _, strict_errors) = results
            if not ok:
                self.message_user(
                    request,
                    f"{capability.name}: invalid: {errors[0].key_path}: {errors[0].message}",
                    messages.ERROR,
                )
            elif strict_ok:
                self.message_user(request, f"{capability.name}: valid (strict)", messages.SUCCESS)
            else:
                first = strict_errors[0]
                self.message_user(
                    request,
                    f"{capability.name}: valid with {warnings} warnings; strict mode finds "
                    f"{len(strict_errors)} errors, first: {first.key_path}: {first.message}",
                    messages.WARNING,
                )

    @admin.action(description="Enable selected")
    def enable_action(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = queryset.update(enabled=True)
        versioning.bump()
        self.message_user(request, f"Enabled {count} capabilities.", messages.SUCCESS)

    @admin.action(description="Disable selected")
    def disable_action(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = queryset.update(enabled=False)
        versioning.bump()
        self.message_user(request, f"Disabled {count} capabilities.", messages.SUCCESS)

    # -- extra pages

    def get_urls(self):
        own = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="capabilities_app_capability_import",
            ),
            path(
                "<int:pk>/export/",
                self.admin_site.admin_view(self.export_view),
                name="capabilities_app_capability_export",
            ),
        ]
        return own + super().get_urls()

    def export_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        return _yaml_response(get_object_or_404(m.Capability, pk=pk))

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            return HttpResponse(status=403)
        report = None
        if request.method == "POST":
            form = ImportYamlForm(request.POST, request.FILES)
            if form.is_valid():
                max_bytes = settings.REGISTRY_MAX_DOCUMENT_BYTES
                inputs = [
                    upload_input(
                        upload.name,
                        upload.read,
                        upload.size,
                        max_bytes=max_bytes,
                        name=form.cleaned_data["name"] or None,
                    )
                    for upload in form.cleaned_data["files"]
                ]
                report = import_documents(
                    inputs,
                    strict=form.cleaned_data["strict"],
                    dry_run=form.cleaned_data["dry_run"],
                    resolve_import=registry_import_resolver(max_bytes=max_bytes),
                    force=form.cleaned_data["force"],
                )
                level = messages.SUCCESS if report.ok else messages.ERROR
                self.message_user(request, summary_line(report), level)
        else:
            form = ImportYamlForm()
        results = []
        if report is not None:
            for outcome in report.outcomes:
                kept = report.ok and not report.dry_run and outcome.capability_id
                capability = (
                    m.Capability.objects.filter(pk=outcome.capability_id).first() if kept else None
                )
                results.append(
                    {
                        "line": outcome.line,
                        "status": outcome.status,
                        "link": _link(capability, capability.name) if capability else "",
                        "errors": error_lines(outcome),
                        "warnings": warning_lines(outcome),
                    }
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "Import YAML",
            "opts": self.model._meta,
            "form": form,
            "results": results,
        }
        return TemplateResponse(request, "admin/capabilities_app/capability/import.html", context)


def _call_shown(part) -> str:
    """A part's call, or the call a lenient import kept although it names nothing."""
    if part.call is not None:
        return part.call.call_name
    kept = (part.extra or {}).get("call")
    return f"{kept} (not served: names nothing)" if isinstance(kept, str) else ""


def _yaml_response(capability: m.Capability) -> HttpResponse:
    response = HttpResponse(export_yaml(capability), content_type="application/yaml")
    filename = slugify(capability.name) or "capability"
    response["Content-Disposition"] = f'attachment; filename="{filename}.yaml"'
    return response


# --------------------------------------------------------------------------- binds


class BindKeyInline(admin.TabularInline):
    model = m.BindKey
    extra = 0
    fields = ("position", "variable", "provider_key")


@admin.register(m.Bind)
class BindAdmin(PartAdmin):
    list_display = ("namespace", "capability", "scope", "location")
    search_fields = ("namespace", "capability__name")
    raw_id_fields = ("capability",)
    inlines = (BindKeyInline,)


# --------------------------------------------------------------------------- consumes


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
    raw_id_fields = ("capability",)
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
    raw_id_fields = ("consumes",)
    inlines = (ResourceParameterInline, ConsumedOperationInline)
    list_select_related = ("consumes__capability",)

    @admin.display(description="capability")
    def capability_link(self, obj: m.ConsumedResource) -> str:
        return _link(obj.consumes.capability)


class ConsumedOutputParameterInline(PartInline):
    model = m.ConsumedOutputParameter
    fields = ("position", "name", "type", "value")
    show_change_link = False


@admin.register(m.ConsumedOperation)
class ConsumedOperationAdmin(PartAdmin):
    list_display = ("name", "method", "resource_path", "namespace", "capability_link")
    list_filter = ("method",)
    search_fields = ("name", "description", "resource__path", "resource__consumes__namespace")
    raw_id_fields = ("resource",)
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
        return _link(obj.resource.consumes.capability)


@admin.register(m.ConsumedParameter)
class ConsumedParameterAdmin(PartAdmin):
    list_display = ("name", "location", "type", "required", "operation", "resource", "consumes")
    search_fields = ("name",)
    raw_id_fields = ("consumes", "resource", "operation")


@admin.register(m.ConsumedOutputParameter)
class ConsumedOutputParameterAdmin(PartAdmin):
    list_display = ("name", "type", "value", "operation")
    raw_id_fields = ("operation",)


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
    list_display = ("namespace", "type", "capability", "port", "transport")
    list_filter = ("type",)
    search_fields = ("namespace", "capability__name")
    raw_id_fields = ("capability",)
    list_select_related = ("capability",)

    def get_inlines(self, request: HttpRequest, obj: m.Expose | None):
        if obj is None:
            return ()
        if obj.type == m.Expose.Type.REST:
            return (ExposedResourceInline,)
        if obj.type == m.Expose.Type.MCP:
            return (ToolInline, McpResourceInline, McpPromptInline)
        return ()


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
    raw_id_fields = ("expose",)
    list_select_related = ("expose",)
    inlines = (ResourceExposedParameterInline, ExposedOperationInline)


@admin.register(m.ExposedOperation)
class ExposedOperationAdmin(PartAdmin):
    form = CallerForm
    list_display = ("__str__", "resource", "call")
    search_fields = ("name", "resource__path", "resource__expose__namespace")
    raw_id_fields = ("resource",)
    autocomplete_fields = ("call", "ref")
    list_select_related = ("resource", "call__resource__consumes")
    inlines = (OperationExposedParameterInline,)


@admin.register(m.ExposedParameter)
class ExposedParameterAdmin(PartAdmin):
    list_display = ("name", "location", "type", "resource", "operation")
    search_fields = ("name",)
    raw_id_fields = ("resource", "operation")


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
    list_display = ("name", "expose", "call", "read_only_hint", "destructive_hint")
    list_filter = ("read_only_hint", "destructive_hint", "idempotent_hint", "open_world_hint")
    search_fields = ("name", "label", "description", "expose__namespace")
    raw_id_fields = ("expose",)
    autocomplete_fields = ("call", "ref")
    list_select_related = ("expose", "call__resource__consumes")
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


@admin.register(m.ToolParameter)
class ToolParameterAdmin(PartAdmin):
    list_display = ("name", "type", "required", "tool", "function")
    search_fields = ("name",)
    raw_id_fields = ("tool", "function")


@admin.register(m.McpResource)
class McpResourceAdmin(PartAdmin):
    list_display = ("name", "uri", "expose")
    search_fields = ("name", "uri")
    raw_id_fields = ("expose",)
    autocomplete_fields = ("call",)


@admin.register(m.McpPrompt)
class McpPromptAdmin(PartAdmin):
    list_display = ("name", "label", "expose")
    search_fields = ("name", "label")
    raw_id_fields = ("expose",)


# --------------------------------------------------------------------------- aggregates


class AggregateFunctionInline(PartInline):
    model = m.AggregateFunction
    fields = ("position", "name", "description", "call")
    autocomplete_fields = ("call",)


@admin.register(m.Aggregate)
class AggregateAdmin(PartAdmin):
    list_display = ("namespace", "label", "capability")
    search_fields = ("namespace", "label")
    raw_id_fields = ("capability",)
    inlines = (AggregateFunctionInline,)


@admin.register(m.AggregateFunction)
class AggregateFunctionAdmin(PartAdmin):
    form = CallerForm
    list_display = ("name", "aggregate", "call")
    search_fields = ("name", "aggregate__namespace")
    raw_id_fields = ("aggregate",)
    autocomplete_fields = ("call",)
    inlines = (FunctionToolParameterInline,)


admin.site.site_header = "Capability registry"
admin.site.site_title = "Capability registry"
admin.site.index_title = "Capabilities, their upstreams and their surfaces"


@admin.register(m.RegistryState)
class RegistryStateAdmin(admin.ModelAdmin):
    """Read-only: the version stamp served surfaces reload on."""

    list_display = ("version", "changed_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(m.Job)
class JobAdmin(admin.ModelAdmin):
    """Async jobs, read-only: the registry and its workers write them.

    Queued jobs can be cancelled from the list (the same rule as ``DELETE /api/jobs/<id>``).
    """

    list_display = (
        "id",
        "kind",
        "namespace",
        "method",
        "target",
        "status",
        "attempts",
        "upstream_status",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "kind", "namespace", "capability")
    search_fields = ("=id", "namespace", "target", "idempotency_key")
    date_hierarchy = "created_at"
    list_select_related = ("capability",)
    actions = ("cancel_queued",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Cancel the selected queued jobs", permissions=("delete",))
    def cancel_queued(self, request, queryset) -> None:
        cancelled = jobs.cancel_queued(queryset)
        self.message_user(request, f"Cancelled {cancelled} queued job(s).", messages.SUCCESS)


# --------------------------------------------------------------------------- client keys


class KeyStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [(status, status) for status in clients.STATUSES]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return clients.with_status(queryset, self.value()) if self.value() else queryset


class ClientGrantInline(admin.TabularInline):
    model = m.ClientGrant
    form = ClientGrantForm
    fields = ("capability", "target", "rate_limit")
    verbose_name_plural = (
        "grants (a capability, or one exposed REST operation, MCP tool, resource or prompt "
        "name of it)"
    )

    def get_extra(self, request: HttpRequest, obj=None, **kwargs) -> int:
        return 0 if obj is not None else 1


@admin.register(m.ClientKey)
class ClientKeyAdmin(admin.ModelAdmin):
    """Client keys: made here (the key is shown once, on the answer to the save), revoked
    (an action, and a button on the key's page), re-granted (the grants inline).

    The key is made by ``clients.rotate_secret`` and is never stored, logged or shown
    again; the digest is never shown.
    """

    list_display = (
        "name",
        "prefix",
        "owner",
        "grants_summary",
        "created_at",
        "last_used_at",
        "expires_at",
        "status",
    )
    list_filter = (KeyStatusFilter,)
    search_fields = ("name", "prefix", "owner")
    readonly_fields = ("prefix", "status_and_revoke", "created_at", "last_used_at", "revoked_at")
    fieldsets = (
        (None, {"fields": ("name", "owner", "description")}),
        ("Limits", {"fields": ("expires_at", "rate_limit")}),
        (
            "State",
            {"fields": ("prefix", "status_and_revoke", "created_at", "last_used_at", "revoked_at")},
        ),
    )
    add_fieldsets = (
        (None, {"fields": ("name", "owner", "description")}),
        ("Limits", {"fields": ("expires_at", "rate_limit")}),
    )
    inlines = (ClientGrantInline,)
    actions = ("revoke_selected",)

    def get_fieldsets(self, request: HttpRequest, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("grants")

    def get_urls(self):
        revoke = self.admin_site.admin_view(self.revoke_view)
        return [
            path("<path:object_id>/revoke/", revoke, name="capabilities_app_clientkey_revoke"),
            *super().get_urls(),
        ]

    @admin.display(description="grants")
    def grants_summary(self, obj: m.ClientKey) -> str:
        return ", ".join(sorted(str(grant) for grant in obj.grants.all())) or "-"

    @admin.display(description="status")
    def status(self, obj: m.ClientKey) -> str:
        status = clients.status_of(obj)
        return format_html('<span class="key-status key-{}">{}</span>', status, status)

    @admin.display(description="status")
    def status_and_revoke(self, obj: m.ClientKey) -> str:
        """The status, and on an unrevoked key a button that posts this form (its CSRF
        token) to the revoke view."""
        shown = self.status(obj)
        if obj.pk is None or obj.revoked_at is not None:
            return shown
        url = reverse("admin:capabilities_app_clientkey_revoke", args=[obj.pk])
        return format_html(
            '{} <button type="submit" name="_revoke" formaction="{}" formnovalidate '
            'class="button">Revoke this key</button>',
            shown,
            url,
        )

    def save_model(self, request: HttpRequest, obj: m.ClientKey, form, change: bool) -> None:
        if not change:
            # Kept on this request only, for the answer below; never in the session.
            request.client_key_secret = clients.rotate_secret(obj)
        super().save_model(request, obj, form, change)

    def response_add(self, request: HttpRequest, obj: m.ClientKey, post_url_continue=None):
        """The answer to "Save": the key, once (no redirect, so it is never put in a
        message or the session); ``never_cache`` of the admin keeps it out of caches."""
        secret = request.__dict__.pop("client_key_secret")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Client key {obj.name} created",
            "opts": self.model._meta,
            "original": obj,
            "secret": secret,
            "grants": self.grants_summary(obj),
            "status": clients.status_of(obj),
            "rest_url": request.build_absolute_uri("/rest/"),
        }
        return TemplateResponse(
            request, "admin/capabilities_app/clientkey/key_created.html", context
        )

    def revoke_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        key = get_object_or_404(m.ClientKey, pk=object_id)
        if not self.has_change_permission(request, key):
            raise PermissionDenied
        if clients.revoke(key):
            self.log_change(request, key, [{"changed": {"fields": ["revoked at"]}}])
            self.message_user(request, f"The client key {key} was revoked.", messages.SUCCESS)
        else:
            self.message_user(request, f"The client key {key} was already revoked.")
        return redirect(reverse("admin:capabilities_app_clientkey_change", args=[key.pk]))

    @admin.action(description="Revoke selected keys", permissions=("change",))
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = clients.revoke_all(queryset)
        for key in done.revoked:
            self.log_change(request, key, [{"changed": {"fields": ["revoked at"]}}])
        already = f" ({len(done.already)} was already revoked)" if done.already else ""
        if len(done.already) > 1:
            already = f" ({len(done.already)} were already revoked)"
        noun = "key" if len(done.revoked) == 1 else "keys"
        self.message_user(
            request,
            f"Revoked {len(done.revoked)} {noun}{already}.",
            messages.SUCCESS if done.revoked else messages.INFO,
        )
