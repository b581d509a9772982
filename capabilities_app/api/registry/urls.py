"""URLs of the registry API, mounted at ``/api/v1/`` (``registry/urls.py``).

The schema (OpenAPI 3.1, drf-spectacular) and its Swagger UI page, whose assets are
static files of drf-spectacular-sidecar (no CDN; drf-spectacular's Redoc page is left
out: its template loads Google Fonts). Jobs stay at
``/api/jobs/<id>`` (docs/jobs.md).
"""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from capabilities_app.api.registry import views

urlpatterns = [
    path("", views.RegistryRootView.as_view(), name="registry-api"),
    path("capabilities/", views.CapabilityListView.as_view(), name="registry-capabilities"),
    path(
        "capabilities/<str:name>/",
        views.CapabilityDetailView.as_view(),
        name="registry-capability",
    ),
    path(
        "capabilities/<str:name>/export/",
        views.CapabilityExportView.as_view(),
        name="registry-capability-export",
    ),
    path("validate/", views.ValidateView.as_view(), name="registry-validate"),
    path("schema/", SpectacularAPIView.as_view(), name="registry-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="registry-schema"), name="registry-docs"),
    # DRF's login page, for the browsable API (staff; the admin's session works too).
    path("auth/", include("rest_framework.urls")),
]
