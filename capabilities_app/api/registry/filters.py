"""The capability list's search and filters (django-filter).

``search`` matches a part of the name, the label, a tag or an expose namespace (any
case); ``tag`` one tag exactly; ``expose`` an expose type; ``enabled`` (``true`` or
``false``) and ``kind`` as stored. A value that is none of these, or a filter given twice,
is 400. Tags and namespaces are matched through subqueries on the capability's id, never
a join: a capability is listed once, and no ``DISTINCT`` is needed (PostgreSQL cannot
apply it to the JSON columns a capability has).

Must not import another surface, httpx or the MCP SDK.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django_filters.filters import CharFilter, ChoiceFilter, TypedChoiceFilter
from django_filters.rest_framework.filterset import FilterSet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from capabilities_app.store.models import Capability, CapabilityTag, Expose

__all__ = ["CapabilityFilter"]


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(TypedChoiceFilter):
    """``true`` or ``false``, nothing else (django-filter's own reads ``null`` as absent)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("choices", [("true", "true"), ("false", "false")])
        kwargs.setdefault("coerce", lambda value: value == "true")
        super().__init__(*args, **kwargs)


class CapabilityFilter(FilterSet):
    search = CharFilter(
        method="filter_search",
        label="Search",
        help_text="A part of the name, label, a tag or an expose namespace (any case).",
    )
    tag = CharFilter(method="filter_tag", help_text="A tag, exactly.")
    expose = ChoiceFilter(
        choices=Expose.Type.choices,
        method="filter_expose",
        help_text="Capabilities with an expose of this type.",
    )
    enabled = StrictBooleanFilter(help_text="Served (true) or kept but not served (false).")
    kind = ChoiceFilter(
        choices=Capability.Kind.choices,
        help_text="A capability, or a shared consumes document others import.",
    )

    class Meta:
        model = Capability
        fields = ("search", "tag", "expose", "enabled", "kind")

    def is_valid(self) -> bool:
        """Every value as declared, and each filter given once (a second value would be
        ignored without a word)."""
        valid = super().is_valid()
        repeated = [name for name in self.filters if len(self.data.getlist(name)) > 1]
        for name in repeated:
            self.form.add_error(name, "given more than once")
        return valid and not repeated

    def filter_search(self, queryset: QuerySet[Capability], name: str, value: str):
        value = value.strip()
        if not value:
            return queryset
        tagged = CapabilityTag.objects.filter(name__icontains=value).values("capability")
        exposed = Expose.objects.filter(namespace__icontains=value).values("capability")
        return queryset.filter(
            Q(name__icontains=value)
            | Q(label__icontains=value)
            | Q(pk__in=tagged)
            | Q(pk__in=exposed)
        )

    def filter_tag(self, queryset: QuerySet[Capability], name: str, value: str):
        return queryset.filter(pk__in=CapabilityTag.objects.filter(name=value).values("capability"))

    def filter_expose(self, queryset: QuerySet[Capability], name: str, value: str):
        return queryset.filter(pk__in=Expose.objects.filter(type=value).values("capability"))
