"""URLs of the REST surface."""

from django.urls import re_path

from .views import RestSurfaceView

urlpatterns = [
    re_path(r"^(?P<path>.*)$", RestSurfaceView.as_view(), name="rest-surface"),
]
