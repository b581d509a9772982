"""URL configuration: the admin now; the REST and MCP surfaces join here."""

from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
]
