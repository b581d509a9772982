"""URL configuration: the admin and the REST surface (``/rest/<namespace><path>``)."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("rest/", include("capabilities_app.api.urls")),
]
