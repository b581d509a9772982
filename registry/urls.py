"""URL configuration: the admin, the REST surface (``/rest/<namespace><path>``), the jobs API,
and the probes (``/healthz``, ``/readyz``)."""

from django.contrib import admin
from django.urls import include, path

from capabilities_app import health
from capabilities_app.api.jobs import JobView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("rest/", include("capabilities_app.api.urls")),
    path("api/jobs/<str:job_id>", JobView.as_view(), name="job"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
