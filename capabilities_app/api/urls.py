"""URLs of the REST surface."""

from django.urls import re_path

from capabilities_app.api.views import RestSurfaceView

urlpatterns = [
    # Any path at all, CR and LF included ("." stops at a newline, and Django would answer
    # its own HTML 404): what no route serves is the surface's problem+json 404.
    re_path(r"^(?P<path>[\s\S]*)$", RestSurfaceView.as_view(), name="rest-surface"),
]
