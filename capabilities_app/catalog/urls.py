"""The catalog's URLs: ``/``, ``/catalog/<name>/`` and its raw document. Mounted last in
``registry/urls.py`` so it shadows nothing."""

from __future__ import annotations

from django.urls import path

from capabilities_app.catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.index, name="index"),
    path("catalog/<str:name>/", views.capability, name="capability"),
    path("catalog/<str:name>/spec.yaml", views.spec_yaml, name="spec"),
]
