"""URLs of the REST surface."""

from django.urls import re_path

from capabilities_app.api import openapi_views
from capabilities_app.api.views import RestSurfaceView

urlpatterns = [
    # The generated OpenAPI document and Swagger UI of each REST expose (public); a route
    # of the expose itself at these paths wins (openapi_views.serve hands it over).
    re_path(
        r"^(?P<namespace>[^/]+)/(?P<name>openapi\.json|openapi\.yaml|docs)\Z",
        openapi_views.serve,
        name="rest-openapi",
    ),
    # Any path at all, CR and LF included ("." stops at a newline, and Django would answer
    # its own HTML 404): what no route serves is the surface's problem+json 404.
    re_path(r"^(?P<path>[\s\S]*)$", RestSurfaceView.as_view(), name="rest-surface"),
]
