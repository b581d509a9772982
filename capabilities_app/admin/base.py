"""What every admin page of a capability part shares: saving through ``editing``, the
inline rows with a link to each child's page, and the site's titles.

Each part has its own change page; a parent's page lists its children inline with a
link to each child's page (per-level pages scale to capabilities with hundreds of
operations, where one nested page would not). A surface module: it may import the
domain (``store``, ``runtime``, ``access``, ``jobs``), never ``api`` or ``mcp``.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from capabilities_app.admin.forms import PartForm
from capabilities_app.store import editing
from capabilities_app.store.served import served_expose

admin.site.site_header = "Capability registry"
admin.site.site_title = "Capability registry"
admin.site.index_title = "Capabilities, their upstreams and their surfaces"
# "View site": the catalog (a capability's "View on site" is its catalog page).
admin.site.site_url = "/"


# The fields of a calling part's page in the order it had before they moved to
# ``store.models.CallingPart`` (inherited fields would otherwise come first): the part's
# own place and kept keys, its own fields, then what it passes and maps.
PART_FIELDS = ("position", "extra")
CALLING_FIELDS = ("with_values", "steps", "mappings", "output_parameters")


def link(obj, text: str | None = None) -> str:
    """A link to ``obj``'s change page (``-`` for none)."""
    if obj is None:
        return "-"
    url = reverse(f"admin:capabilities_app_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text or str(obj))


def served_at(expose) -> str:
    """Where the registry serves an expose (not the document's ``port``): REST's base URL,
    MCP's streamable HTTP URL; "-" for what it keeps but does not serve."""
    found = served_expose(expose.type, expose.namespace)
    return found.url if found is not None else "-"


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
