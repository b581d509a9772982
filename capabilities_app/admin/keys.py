"""The admin pages of client keys: made here (the key shown once), revoked, re-granted.

Keys are made, checked and revoked by ``access.clients``, as the key commands do. A
surface module: it may import the domain (``store``, ``runtime``, ``access``,
``jobs``), never ``api`` or ``mcp``.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from capabilities_app.access import clients
from capabilities_app.admin.base import LabelledInlines, name_date_and_time
from capabilities_app.admin.forms import ClientGrantForm
from capabilities_app.store import models as m

# --------------------------------------------------------------------------- client keys


class KeyStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [(status, status) for status in clients.STATUSES]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        status = self.value()
        return clients.with_status(queryset, status) if status else queryset


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
class ClientKeyAdmin(LabelledInlines, admin.ModelAdmin):
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

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        return name_date_and_time(super().formfield_for_dbfield(db_field, request, **kwargs))

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
            request.__dict__["client_key_secret"] = clients.rotate_secret(obj)
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
