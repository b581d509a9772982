"""The capability list's search and filters (django-filter).

``search`` matches a part of the name, the label, a tag or an expose namespace (any
case); ``tag`` one tag exactly; ``expose`` an expose type; ``enabled`` and ``kind`` as
stored. Tags and namespaces are matched through subqueries on the capability's id, never
a join: a capability is listed once, and no ``DISTINCT`` is needed (PostgreSQL cannot
apply it to the JSON columns a capability has).

Must not import another surface, httpx or the MCP SDK.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters

from capabilities_app.store.models import Capability, CapabilityTag, Expose

__all__ = ["CapabilityFilter"]


class CapabilityFilter(filters.FilterSet):
    search = filters.CharFilter(
        method="filter_search",
        label="Search",
        help_text="A part of the name, label, a tag or an expose namespace (any case).",
    )
    tag = filters.CharFilter(method="filter_tag", help_text="A tag, exactly.")
    expose = filters.ChoiceFilter(
        choices=Expose.Type.choices,
        method="filter_expose",
        help_text="Capabilities with an expose of this type.",
    )
    enabled = filters.BooleanFilter(help_text="Served (true) or kept but not served (false).")
    kind = filters.ChoiceFilter(
        choices=Capability.Kind.choices,
        help_text="A capability, or a shared consumes document others import.",
    )

    class Meta:
        model = Capability
        fields = ("search", "tag", "expose", "enabled", "kind")

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
