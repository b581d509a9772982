"""Headers on every answer of the REST surface and the jobs API (``/rest/``, ``/api/``).

Upstream answers are passed through as they came, HTML and scripts included, from the
registry's own origin (the admin's, unless the surfaces have a host name of their own:
docs/deployment.md). ``Content-Security-Policy: sandbox`` makes a browser treat such a
page as a unique origin without scripts, forms or plugins, so it can neither run nor
reach the admin's pages and cookies; ``X-Content-Type-Options: nosniff`` stops the
browser from guessing a more active type than the one declared.

The registry's own pages under these prefixes (the Swagger UI of a REST expose,
``api.openapi_views``) need their scripts: a view marks its response with
:func:`own_page` and sets a policy of its own, which is then kept. Nothing an upstream
sends can mark a response (the mark is an attribute of the response object, not a
header).

A middleware (the outermost) so that every answer under those prefixes carries them:
the view's, problem+json errors, Django's own 404 and 500. The admin is left alone (it
needs its scripts), and so is the registry API under ``/api/v1/`` (its browsable pages and
Swagger UI need scripts and forms; it serves only what the registry renders, never an
upstream's answer): it keeps ``nosniff``, and its YAML export sets the sandbox itself.
Must not import models, httpx or DRF.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

SURFACES = ("/rest/", "/api/")
REGISTRY_API = "/api/v1/"
HEADERS = (("Content-Security-Policy", "sandbox"), ("X-Content-Type-Options", "nosniff"))
_OWN_PAGE = "registry_own_page"


def own_page(response: HttpResponse) -> HttpResponse:
    """Mark ``response`` as a page of the registry's own, with its own
    ``Content-Security-Policy`` (set by the view): the sandbox leaves that policy."""
    if not response.headers.get("Content-Security-Policy"):
        raise ValueError("a page of the registry's own sets its Content-Security-Policy")
    setattr(response, _OWN_PAGE, True)
    return response


NOSNIFF = HEADERS[1:]


class SandboxSurfaces:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path_info.startswith(SURFACES):
            own = getattr(response, _OWN_PAGE, False) is True
            headers = NOSNIFF if request.path_info.startswith(REGISTRY_API) else HEADERS
            for name, value in headers:
                if own and name == "Content-Security-Policy":
                    continue
                # Set, not defaulted: an upstream's own, laxer policy never replaces it.
                response.headers[name] = value
        return response
