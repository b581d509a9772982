"""The app's configuration, and the admin site it installs (``RegistryAdminConfig``).

The site is Django's, with an index that lists what an admin starts from: capabilities
first, then jobs, then client keys, then the other apps (users and groups). The parts of
a capability (resources, operations, parameters, tools, binds, aggregates, …) stay
registered, each with its own change page, but are reached from their capability, not
from the index; internals (the version stamp) never appear there. The lists that span
capabilities (all MCP tools, all REST operations) are linked from the index page.

Autocomplete answers name a part as its change page does: the target's admin may define
``autocomplete_label(obj)`` (``admin.base.PartAdmin`` does), else ``str(obj)``.

An edge: imported while Django reads ``INSTALLED_APPS``, so at module level it imports
only Django (never a model, nor the ``admin`` package, which registers models).
"""

from __future__ import annotations

from django.apps import AppConfig
from django.contrib import admin
from django.contrib.admin import apps as admin_apps
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.urls import reverse

APP = "capabilities_app"

# The index, in this order; every other model of the app is reached from its capability.
INDEX_MODELS = ("capability", "job", "clientkey")

# Lists across capabilities, linked from the index page: (model name, title).
ACROSS_CAPABILITIES = (
    ("tool", "All MCP tools"),
    ("exposedoperation", "All REST operations"),
)


class CapabilitiesAppConfig(AppConfig):
    name = "capabilities_app"
    verbose_name = "Capabilities"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from capabilities_app import checks  # noqa: F401 - registers the system checks
        from capabilities_app.access import clients  # noqa: F401 - key changes move the clients stamp

        # The Celery tasks, registered in every process: ``jobs.submit`` publishes them by
        # name, and eager mode (no broker) runs the registered task in place.
        from capabilities_app.jobs import tasks  # noqa: F401


class PartAutocomplete(AutocompleteJsonView):
    """Autocomplete answers labelled by the target's admin (``autocomplete_label``)."""

    def serialize_result(self, obj, to_field_name):
        label = getattr(self.model_admin, "autocomplete_label", str)
        return {"id": str(getattr(obj, to_field_name)), "text": label(obj)}


class RegistryAdminSite(admin.AdminSite):
    site_header = "Capability registry"
    site_title = "Capability registry"
    index_title = "Capabilities, their upstreams and their surfaces"
    # "View site": the catalog (a capability's "View on site" is its catalog page).
    site_url = "/"

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        for app in apps:
            if app["app_label"] == APP:
                shown = {model["object_name"].lower(): model for model in app["models"]}
                app["models"] = [shown[name] for name in INDEX_MODELS if name in shown]
        # This app first, the others in Django's order (alphabetical); none left empty.
        return sorted((app for app in apps if app["models"]), key=lambda a: a["app_label"] != APP)

    def index(self, request, extra_context=None):
        across = [
            {"title": title, "url": reverse(f"admin:{APP}_{name}_changelist")}
            for name, title in ACROSS_CAPABILITIES
            if self._can_view(request, name)
        ]
        return super().index(request, {"across_capabilities": across, **(extra_context or {})})

    def _can_view(self, request, model_name: str) -> bool:
        for model, model_admin in self._registry.items():
            if model._meta.app_label == APP and model._meta.model_name == model_name:
                return model_admin.has_view_permission(request)
        return False

    def autocomplete_view(self, request):
        return PartAutocomplete.as_view(admin_site=self)(request)


class RegistryAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` with :class:`RegistryAdminSite` as ``admin.site``: named in
    ``INSTALLED_APPS`` instead of ``django.contrib.admin``. Not this module's default
    config (``CapabilitiesAppConfig`` is, for ``capabilities_app``)."""

    default = False

    default_site = "capabilities_app.apps.RegistryAdminSite"
