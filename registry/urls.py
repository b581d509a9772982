"""URL configuration: the admin, the REST surface (``/rest/<namespace><path>``), the registry
API (``/api/v1/``, docs/registry-api.md), the jobs API, the protected-resource metadata of
REST exposes (RFC 9728), the MCP Registry API (``/v0.1/servers``), the probes (``/healthz``,
``/readyz``), and the catalog (``/``, ``/catalog/<name>/``)."""

from django.contrib import admin
from django.urls import include, path, re_path

from capabilities_app.api import health
from capabilities_app.api.jobs import JobView
from capabilities_app.api.metadata import protected_resource

urlpatterns = [
    path("admin/", admin.site.urls),
    path("rest/", include("capabilities_app.api.urls")),
    path("api/v1/", include("capabilities_app.api.registry.urls")),
    path("api/jobs/<str:job_id>", JobView.as_view(), name="job"),
    path("v0.1/", include("capabilities_app.api.servers_urls")),
    # /.well-known/oauth-protected-resource/rest/<namespace>; anything else under it is a
    # problem+json 404, not Django's HTML one.
    re_path(
        r"^\.well-known/oauth-protected-resource(?P<rest>/[\s\S]*)?$",
        protected_resource,
        name="protected-resource",
    ),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Last: the catalog's "/" and "/catalog/..." shadow nothing above.
    path("", include("capabilities_app.catalog.urls")),
]
