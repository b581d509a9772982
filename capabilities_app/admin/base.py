"""What every admin page of a capability part shares: saving through ``editing``, the
inline rows with a link to each child's page, JSON parts edited as YAML, related parts
named (``part_label``) and chosen by autocomplete, the way back to the capability.

Each part has its own change page; a parent's page lists its children inline with a
link to each child's page (per-level pages scale to capabilities with hundreds of
operations, where one nested page would not). A part's page reads Home > Capabilities >
its capability > its parents > the part, and saving it returns to its capability.
Pages render in a number of queries that does not grow with the parts they list: the
related parts they name are loaded with their rows (``LABEL_RELATED``).

The site itself (its index, its autocomplete answers) is ``capabilities_app.apps``'s.
A surface module: it may import the domain (``store``, ``runtime``, ``access``,
``jobs``), never ``api`` or ``mcp``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.db import models
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst

from capabilities_app.admin.forms import (
    KnownAutocompleteSelect,
    PartForm,
    YamlField,
    YamlTextarea,
)
from capabilities_app.store import editing
from capabilities_app.store import models as m
from capabilities_app.store.layout import PARTS
from capabilities_app.store.served import served_expose

# The change page of every part but the capability itself (whose page is its own).
PART_FORM_TEMPLATE = "admin/capabilities_app/part_change_form.html"


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


# --------------------------------------------------------------------------- names of parts

_LABELS: dict[type[models.Model], Callable[[Any], str]] = {
    m.Consumes: lambda o: f"{o.namespace} ({o.capability.name})",
    m.ConsumedResource: lambda o: f"{o.name} {o.path} ({o.consumes.namespace})",
    m.ConsumedOperation: lambda o: o.call_name,
    m.Expose: lambda o: f"{o.type}:{o.namespace or '-'} ({o.capability.name})",
    m.ExposedResource: lambda o: f"{o.path} ({o.expose.namespace})",
    m.ExposedOperation: lambda o: (
        f"{o.method} {o.resource.path}" + (f" ({o.name})" if o.name else "")
    ),
    m.Tool: lambda o: f"{o.name} ({o.expose.namespace})",
    m.McpResource: lambda o: f"{o.name} ({o.expose.namespace})",
    m.McpPrompt: lambda o: f"{o.name} ({o.expose.namespace})",
    m.Aggregate: lambda o: f"{o.namespace} ({o.capability.name})",
    m.AggregateFunction: lambda o: f"{o.aggregate.namespace}.{o.name}",
    m.Bind: lambda o: f"{o.namespace} ({o.capability.name})",
}

# What each label reads beyond the row: loaded with it (``select_related``).
LABEL_RELATED: dict[type[models.Model], tuple[str, ...]] = {
    m.Consumes: ("capability",),
    m.ConsumedResource: ("consumes",),
    m.ConsumedOperation: ("resource__consumes",),
    m.Expose: ("capability",),
    m.ExposedResource: ("expose",),
    m.ExposedOperation: ("resource",),
    m.Tool: ("expose",),
    m.McpResource: ("expose",),
    m.McpPrompt: ("expose",),
    m.Aggregate: ("capability",),
    m.AggregateFunction: ("aggregate",),
    m.Bind: ("capability",),
}


def part_label(obj: models.Model) -> str:
    """How a page names a part it refers to: what it is and where it belongs
    (``mcp:prefect-tools (prefect-account-billing)``; a call as it is written,
    ``namespace.operation``), never an id."""
    label = _LABELS.get(type(obj))
    return label(obj) if label else str(obj)


def related_of(model: type[models.Model], *fields: str) -> list[str]:
    """``select_related`` paths for ``model``'s foreign keys ``fields`` and their labels."""
    paths = []
    for name in fields:
        target = model._meta.get_field(name).related_model
        paths.append(name)
        paths += [f"{name}__{path}" for path in LABEL_RELATED.get(target, ())]  # type: ignore[arg-type]
    return paths


def _foreign_keys(model: type[models.Model]) -> list[str]:
    return [
        f.name for f in model._meta.get_fields() if isinstance(f, models.ForeignKey) and f.concrete
    ]


_CAPABILITY_PATHS = {part.model: part.capability_paths for part in PARTS.values()}


def trail(obj: models.Model) -> list[models.Model]:
    """The parts above ``obj``, from its capability down to its parent (empty for none)."""
    for path in _CAPABILITY_PATHS.get(type(obj).__name__, ()):
        found: list[models.Model] = []
        current: Any = obj
        for attr in path.split("__"):
            if getattr(current, f"{attr}_id", None) is None:
                break
            current = getattr(current, attr)
            found.append(current)
        else:
            return found[::-1]
    return []


def served_at(expose) -> str:
    """Where the registry serves an expose (not the document's ``port``): REST's base URL,
    MCP's streamable HTTP URL; "-" for what it keeps but does not serve."""
    found = served_expose(expose.type, expose.namespace)
    return found.url if found is not None else "-"


class LabelledInlines:
    """A page whose inline rows label their controls (``labelled``)."""

    def get_formsets_with_inlines(self, request, obj=None):
        for formset, inline in super().get_formsets_with_inlines(request, obj):  # type: ignore[misc]
            yield labelled(formset), inline


def labelled(formset: type) -> type:
    """``formset`` whose row controls carry an ``aria-label`` naming field and row: a
    tabular inline's cells have no ``<label>`` ("Name (tool 3)", "Delete (tool 3)")."""

    class Labelled(formset):
        def add_fields(self, form, index) -> None:
            super().add_fields(form, index)
            what = self.model._meta.verbose_name
            row = f" ({what} {index + 1})" if index is not None else f" (new {what})"
            for name, field in form.fields.items():
                label = capfirst(field.label or name.replace("_", " "))
                widget = getattr(field.widget, "widget", field.widget)  # the admin's wrapper
                widget.attrs.setdefault("aria-label", f"{label}{row}")

    Labelled.__name__ = Labelled.__qualname__ = formset.__name__
    return Labelled


def name_date_and_time(field):
    """A date and time field's two inputs, named for assistive technology: the admin's
    split widget writes "Date:" and "Time:" as bare text, its label points to neither."""
    widget = getattr(field, "widget", None)
    widget = getattr(widget, "widget", widget)  # the admin's wrapper
    if isinstance(widget, forms.SplitDateTimeWidget):
        label = capfirst(field.label or "")
        widget.widgets[0].attrs.setdefault("aria-label", f"{label}: date")
        widget.widgets[1].attrs.setdefault("aria-label", f"{label}: time")
    return field


class PartFields:
    """Form fields of part pages and inline rows: JSON parts as YAML (``YamlField``),
    related parts by name (``part_label``) through a select that names its choice
    without a query when the row holds it (``KnownAutocompleteSelect``)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.JSONField):
            empty = None if db_field.null else db_field.get_default()
            kwargs.pop("widget", None)  # the admin's JSON widget, if any
            return db_field.formfield(form_class=YamlField, empty=empty, **kwargs)
        return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):  # type: ignore[attr-defined]
            kwargs["widget"] = KnownAutocompleteSelect(
                db_field,
                self.admin_site,  # type: ignore[attr-defined]
                using=kwargs.get("using"),
            )
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]
        if field is not None:
            field.label_from_instance = part_label
        return field


class PartAdmin(LabelledInlines, PartFields, admin.ModelAdmin):
    """Every change made here goes through ``editing.record_edit`` (stamp, imports).

    Foreign keys are autocompletes by default (every part admin has ``search_fields``);
    the part's page leads back to its capability (breadcrumbs, and after a save).
    """

    form = PartForm
    save_on_top = True

    def get_autocomplete_fields(self, request: HttpRequest):
        # Every foreign key (parents too), unless the admin asks for a raw id field.
        names = [*self.autocomplete_fields, *_foreign_keys(self.model)]
        return tuple(n for n in dict.fromkeys(names) if n not in self.raw_id_fields)

    def autocomplete_label(self, obj: models.Model) -> str:
        """How autocomplete answers name this part (``apps.PartAutocomplete``)."""
        return part_label(obj)

    def get_queryset(self, request: HttpRequest):
        related = [
            *LABEL_RELATED.get(self.model, ()),
            *_CAPABILITY_PATHS.get(self.model.__name__, ()),
            *related_of(self.model, *self.get_autocomplete_fields(request)),
        ]
        queryset = super().get_queryset(request)
        return queryset.select_related(*related) if related else queryset

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        part = self.model is not m.Capability
        if part and obj is not None:
            context["part_trail"] = [(link(p, part_label(p)), p) for p in trail(obj)]
            context["part_title"] = f"{capfirst(self.model._meta.verbose_name)} {obj}"
        response = super().render_change_form(request, context, add, change, form_url, obj)
        if part and self.change_form_template is None and isinstance(response, TemplateResponse):
            response.template_name = PART_FORM_TEMPLATE
        return response

    def _back_to_capability(self, request: HttpRequest, obj) -> HttpResponseRedirect | None:
        """Where "Save" leads from a part's page: its capability's page (not the list of
        every capability's parts of that kind)."""
        capability = None if isinstance(obj, m.Capability) else editing.capability_of(obj)
        capability_admin = self.admin_site._registry.get(m.Capability)
        if capability is None or capability_admin is None:
            return None
        if not capability_admin.has_view_or_change_permission(request):
            return None
        url = reverse("admin:capabilities_app_capability_change", args=[capability])
        return HttpResponseRedirect(url)

    def response_post_save_change(self, request, obj):
        # Only after "Save": "Save and continue editing" and "Save and add another" stay.
        return self._back_to_capability(request, obj) or super().response_post_save_change(
            request, obj
        )

    def response_post_save_add(self, request, obj):
        return self._back_to_capability(request, obj) or super().response_post_save_add(
            request, obj
        )

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
        # Where to go once it is gone: its capability, found while the part still leads there.
        if not isinstance(obj, m.Capability):
            request._registry_back = self._back_to_capability(request, obj)
        editing.record_edit([obj])
        super().delete_model(request, obj)

    def response_delete(self, request, obj_display, obj_id):
        response = super().response_delete(request, obj_display, obj_id)  # the message
        back = getattr(request, "_registry_back", None)
        if back is not None and isinstance(response, HttpResponseRedirect):
            return back
        return response

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


class PartInline(PartFields, admin.TabularInline):
    """A parent's rows of one kind of part, each with a link to its own page; rows come
    with what their cells name (``select_related``)."""

    form = PartForm
    extra = 0
    show_change_link = True

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is None:
            return field
        # A row's text (a description) in a short box that grows with its cell, not 40 by 10.
        if isinstance(field.widget, forms.Textarea) and not isinstance(field.widget, YamlTextarea):
            field.widget.attrs.update({"rows": 2})
        # A row's call is chosen in its select; the add/change/view links are on its page.
        if isinstance(field.widget, RelatedFieldWidgetWrapper):
            field.widget.can_add_related = field.widget.can_change_related = False
            field.widget.can_delete_related = field.widget.can_view_related = False
        return field

    def get_queryset(self, request: HttpRequest):
        related = related_of(self.model, *self.get_autocomplete_fields(request))
        queryset = super().get_queryset(request)
        return queryset.select_related(*related) if related else queryset
