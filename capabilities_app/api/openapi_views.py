"""``/rest/<namespace>/openapi.json``, ``/openapi.yaml`` and ``/docs`` (issue 13 point 2).

The generated OpenAPI document of a REST expose (``api.openapi``), and Swagger UI over
it: public discovery documents, read without a credential (like RFC 9728 metadata); they
hold no secret. A route of the expose itself at one of these paths wins: the request is
the capability's (``RestSurfaceView``), and the import warned that it hides the document.

The Swagger page is the registry's own: its scripts and styles come from
drf-spectacular-sidecar through Django's static files (never a CDN), and its
``Content-Security-Policy`` allows scripts and styles from the registry's origin only,
instead of the ``sandbox`` every other answer under ``/rest/`` gets (``api.sandbox``).

Plain Django views (no DRF): problem+json for what they do not serve. Must not import
models, httpx or the MCP SDK.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from capabilities_app.api import openapi, sandbox
from capabilities_app.api.problems import plain_problem_response
from capabilities_app.api.views import RestSurfaceView
from capabilities_app.core.errors import (
    MethodNotAllowed,
    RegistryError,
    RouteNotFound,
)
from capabilities_app.runtime.catalog import get_catalog

__all__ = ["CACHE_CONTROL", "page_policy", "serve"]

METHODS = ("GET", "HEAD")
CACHE_CONTROL = "public, max-age=60"
_CONTENT_TYPES = {"openapi.json": "application/json", "openapi.yaml": "application/yaml"}
_surface = RestSurfaceView.as_view()
# The one <style> element Swagger UI (drf-spectacular-sidecar's build) injects, allowed by
# its hash rather than 'unsafe-inline'; the browser test fails when an upgrade changes it.
SWAGGER_STYLE_HASH = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='"


def page_policy() -> str:
    """The docs page's CSP: its own scripts and styles, nothing inline, no frames; calls
    ("Try it out") to this origin and the servers the document names."""
    public = urlsplit(settings.REGISTRY_PUBLIC_URL)
    connect = "'self'"
    if public.scheme and public.netloc:
        connect += f" {public.scheme}://{public.netloc}"
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            f"style-src 'self' {SWAGGER_STYLE_HASH}",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src {connect}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


def _problem(request: HttpRequest, error: RegistryError) -> HttpResponse:
    return plain_problem_response(error, request.path)


def serve(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """One of :data:`openapi.DOCUMENT_PATHS` under ``/rest/<namespace>/``."""
    catalog = get_catalog()
    if openapi.hidden_by_route(catalog, namespace, name):
        return _surface(request, path=f"{namespace}/{name}")
    try:
        if namespace not in catalog.routes:
            raise RouteNotFound(f"no REST expose is served at /rest/{namespace}")
        if request.method not in METHODS:
            raise MethodNotAllowed(
                f"{request.method} is not allowed on /rest/{namespace}/{name}; allowed: GET, HEAD",
                list(METHODS),
            )
    except RegistryError as error:
        return _problem(request, error)
    if name == "docs":
        return _page(request, namespace)
    found = openapi.rendered(catalog, namespace)
    if found is None:  # the catalog changed since the check above: not served now
        return _problem(request, RouteNotFound(f"no REST expose is served at /rest/{namespace}"))
    content = found.json if name == "openapi.json" else found.yaml
    response = HttpResponse(
        b"" if request.method == "HEAD" else content,
        content_type=f"{_CONTENT_TYPES[name]}; charset=utf-8",
    )
    if request.method == "HEAD":
        response["Content-Length"] = str(len(content))
    response["Cache-Control"] = CACHE_CONTROL
    response["Access-Control-Allow-Origin"] = "*"  # public; browser-based tools read it
    return response


def _page(request: HttpRequest, namespace: str) -> HttpResponse:
    base = request.path.rsplit("/", 1)[0]  # /rest/<namespace>, under any SCRIPT_NAME
    html = render_to_string(
        "rest/swagger.html",
        {"namespace": namespace, "openapi_url": f"{base}/openapi.json"},
        request=request,
    )
    response = HttpResponse(b"" if request.method == "HEAD" else html.encode())
    response["Cache-Control"] = CACHE_CONTROL
    response["Content-Security-Policy"] = page_policy()
    sandbox.own_page(response)
    return response
