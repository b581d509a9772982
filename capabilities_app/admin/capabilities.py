"""The capability's admin pages: the capability (its list, overview, actions, Export
and Import YAML pages), its binds, and the version stamp.

The page lists all the capability's operations and tools. Its actions and its Import
YAML page call the importer, the exporter, ``checking`` and ``editing``, the same code
the commands run. A surface module: it may import the domain (``store``, ``runtime``,
``access``, ``jobs``), never ``api`` or ``mcp``.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import slugify

from capabilities_app.admin.base import PartAdmin, PartInline, link, served_at
from capabilities_app.admin.forms import ImportYamlForm
from capabilities_app.admin.yaml_tab import yaml_view
from capabilities_app.store import checking, editing
from capabilities_app.store import models as m
from capabilities_app.store.exporter import export_yaml
from capabilities_app.store.importer import import_documents, registry_import_resolver, upload_input
from capabilities_app.store.loader import format_key_path
from capabilities_app.store.reporting import grouped, summary_line
from capabilities_app.store.summary import summarize

# --------------------------------------------------------------------------- capability

_VERDICT_LEVELS = {
    "invalid": messages.ERROR,
    "strict": messages.SUCCESS,
    "lenient": messages.WARNING,
}


class PartFilter(admin.SimpleListFilter):
    """Capabilities that have a ``part`` whose ``field`` is the chosen value, one of
    ``values`` (or of what ``lookups`` finds)."""

    part: type[m.CapabilityTag] | type[m.Expose]
    field = ""
    values: tuple[tuple[str, str], ...] = ()

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return list(self.values)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            parts = self.part.objects.filter(**{self.field: self.value()})
            return queryset.filter(pk__in=parts.values("capability"))
        return queryset


class TagFilter(PartFilter):
    title = "tag"
    parameter_name = "tag"
    part = m.CapabilityTag
    field = "name"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        names = m.CapabilityTag.objects.order_by("name").values_list("name", flat=True)
        return [(n, n) for n in dict.fromkeys(names)]


class ExposeTypeFilter(PartFilter):
    title = "expose type"
    parameter_name = "expose_type"
    part = m.Expose
    field = "type"
    values = tuple(m.Expose.Type.choices)


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
    # Where the registry serves each expose, not the document's port and address (kept on
    # the expose's own page, for the export).
    fields = ("position", "type", "namespace", "served_url", "transport", "description")
    readonly_fields = ("served_url",)

    @admin.display(description="served at")
    def served_url(self, obj: m.Expose) -> str:
        return served_at(obj) if obj.pk else "-"


class AggregateInline(PartInline):
    model = m.Aggregate
    fields = ("position", "namespace", "label")


# Where a capability came from and when it changed: read-only, in their own section.
PROVENANCE_FIELDS = (
    "source_origin",
    "source_sha256",
    "imported_at",
    "edited_at",
    "updated_at",
    "revision",  # its MCP Registry version is 1.0.<revision> (docs/mcp-registry.md)
    "revised_at",
    "changed_at",
    "source_document_view",
)


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
        "served_urls",
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
        *PROVENANCE_FIELDS,
        "unserved_parts_view",
    )
    fieldsets = (
        (None, {"fields": ("name", "kind", "enabled", "spec_version")}),
        ("Info", {"fields": ("label", "description", "created", "modified", "stakeholders")}),
        ("Operations and tools", {"fields": ("operations_overview", "tools_overview")}),
        ("Kept but not served", {"classes": ("collapse",), "fields": ("unserved_parts_view",)}),
        ("Other keys", {"classes": ("collapse",), "fields": ("extra",)}),
        ("Provenance", {"classes": ("collapse",), "fields": PROVENANCE_FIELDS}),
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
            .prefetch_related("exposes")
        )

    @admin.display(description="served at")
    def served_urls(self, obj: m.Capability) -> str:
        urls = [served_at(e) for e in obj.exposes.all() if e.type in ("rest", "mcp")]
        return format_html_join(mark_safe("<br>"), "{}", ((u,) for u in urls if u != "-")) or "-"

    @admin.display(description="operations", ordering="_operations")
    def operation_count(self, obj: m.Capability) -> int:
        return obj._operations  # type: ignore[attr-defined]  # annotated by get_queryset

    @admin.display(description="tools", ordering="_tools")
    def tool_count(self, obj: m.Capability) -> int:
        return obj._tools  # type: ignore[attr-defined]  # annotated by get_queryset

    @admin.display(description="consumed operations")
    def operations_overview(self, obj: m.Capability) -> str:
        operations = m.ConsumedOperation.objects.filter(
            resource__consumes__capability=obj
        ).select_related("resource__consumes")
        return _overview(
            ("call", "method", "path", "description"),
            (
                (link(op, op.call_name), op.method, op.resource.path, op.description or "")
                for op in operations
            ),
        )

    @admin.display(description="MCP tools")
    def tools_overview(self, obj: m.Capability) -> str:
        tools = m.Tool.objects.filter(expose__capability=obj).select_related(
            "expose", "call__resource__consumes"
        )
        return _overview(
            ("tool", "expose", "call", "description"),
            (
                (link(t, t.name), t.expose.namespace, _call_shown(t), t.description or "")
                for t in tools
            ),
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
        for capability in queryset:
            self._validate(request, capability)

    def _validate(self, request: HttpRequest, capability: m.Capability) -> None:
        found = checking.validate(capability, max_bytes=settings.REGISTRY_MAX_DOCUMENT_BYTES)
        self.message_user(request, validation_message(found), _VERDICT_LEVELS[found.verdict])

    @admin.action(description="Enable selected")
    def enable_action(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = editing.set_enabled(queryset, enabled=True)
        self.message_user(request, f"Enabled {count} capabilities.", messages.SUCCESS)

    @admin.action(description="Disable selected")
    def disable_action(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = editing.set_enabled(queryset, enabled=False)
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
            path(
                "<int:pk>/yaml/",
                self.admin_site.admin_view(self.yaml_edit_view),
                name="capabilities_app_capability_yaml",
            ),
            path(
                "<int:pk>/validate/",
                self.admin_site.admin_view(self.validate_view),
                name="capabilities_app_capability_validate",
            ),
        ]
        return own + super().get_urls()

    def export_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        return _yaml_response(get_object_or_404(m.Capability, pk=pk))

    def yaml_edit_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return yaml_view(self, request, pk)

    def validate_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Validate one capability (reads only) and go back to its page."""
        capability = get_object_or_404(m.Capability, pk=pk)
        if not self.has_view_permission(request, capability):
            return HttpResponse(status=403)
        self._validate(request, capability)
        return HttpResponseRedirect(reverse("admin:capabilities_app_capability_change", args=[pk]))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        capability = m.Capability.objects.filter(pk=object_id).first() if object_id else None
        context = {**(extra_context or {})}
        if capability is not None and request.method == "GET":
            context["glance"] = summarize(capability)
        return super().change_view(request, object_id, form_url, extra_context=context)

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
                kept = outcome.capability_id if report.ok and not report.dry_run else None
                capability = m.Capability.objects.filter(pk=kept).first() if kept else None
                results.append(
                    {
                        "file": outcome.origin,
                        "line": outcome.line,
                        "status": outcome.status,
                        "link": link(capability, capability.name) if capability else "",
                        "errors": grouped_lines(outcome.errors, outcome.origin),
                        "warnings": grouped_lines(
                            outcome.warnings, outcome.origin, prefix="warning: "
                        ),
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


def validation_message(found: checking.Validation) -> str:
    """The validate action's message, naming the capability as it is written (the
    admin capitalises a message's first letter, so the name is not put first)."""
    return f"Validated “{found.name}”: {found.message.removeprefix(found.name + ': ')}"


def grouped_lines(
    diagnostics: list, origin: str, *, prefix: str = "", limit: int = 200
) -> list[dict[str, Any]]:
    """Diagnostics per file (the uploaded one first, then each document it imports),
    repeated ones grouped by rule and path (strict-mode schema errors like lenient
    warnings): ``[{file, lines}]``."""
    files: dict[str, list[str]] = {origin: []}
    shown = 0
    total = 0
    for first, more in grouped(diagnostics):
        total += 1
        if shown >= limit:
            continue
        suffix = f" (and {more} more like it)" if more else ""
        files.setdefault(first.origin, []).append(f"{prefix}{first}{suffix}")
        shown += 1
    if total > shown:
        files[origin].append(f"... and {total - shown} more")
    return [{"file": name, "lines": lines} for name, lines in files.items() if lines]


def _overview(headings: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> str:
    """An overview table: one row per part, ``-`` when there is none."""
    cells = "".join("<td>{}</td>" for _ in headings)
    body = format_html_join("", f"<tr>{cells}</tr>", rows)
    if not body:
        return "-"
    head = "".join(f"<th>{heading}</th>" for heading in headings)  # constants, not input
    return format_html(f'<table class="overview"><tr>{head}</tr>{{}}</table>', body)


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
    inlines = (BindKeyInline,)


# --------------------------------------------------------------------------- version stamp


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
