"""The admin pages of async jobs: read-only lists, and cancelling queued jobs through
``jobs.access`` (the same rule as ``DELETE /api/jobs/<id>``).

A surface module: it may import the domain (``store``, ``runtime``, ``access``,
``jobs``), never ``api`` or ``mcp``.
"""

from __future__ import annotations

from django.contrib import admin, messages

from capabilities_app.jobs import access as jobs
from capabilities_app.store import models as m


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
