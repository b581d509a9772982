"""``/.well-known/oauth-protected-resource/rest/<namespace>``: a REST expose's
protected-resource metadata (RFC 9728), as ``resource_metadata`` builds it.

A plain Django view (no DRF: no authentication, no content negotiation): public,
cacheable JSON; problem+json for anything it does not serve.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse

from capabilities_app.access import resource_metadata
from capabilities_app.core.errors import (
    PROBLEM_JSON,
    MethodNotAllowed,
    RegistryError,
    ResourceNotFound,
)
from capabilities_app.runtime.catalog import get_catalog


def protected_resource(request: HttpRequest, rest: str = "") -> HttpResponse:
    try:
        if request.method not in resource_metadata.METHODS:
            raise MethodNotAllowed(
                f"{request.method} is not allowed here; allowed: GET, HEAD",
                list(resource_metadata.METHODS),
            )
        surface, _, namespace = rest.strip("/").partition("/")
        if surface != "rest" or not namespace or "/" in namespace:
            raise ResourceNotFound(
                "the web server serves the metadata of REST exposes only, at "
                f"{resource_metadata.PATH_PREFIX}/rest/<namespace>"
            )
        document = resource_metadata.rest_document(get_catalog(), namespace)
    except RegistryError as error:
        if not isinstance(error, (MethodNotAllowed, ResourceNotFound)):
            raise  # a database outage: the middleware answers 503
        body = error.problem(request.path)
        response = HttpResponse(json.dumps(body), status=error.status, content_type=PROBLEM_JSON)
        for name, value in error.headers().items():
            response[name] = value
        return response
    content = b"" if request.method == "HEAD" else json.dumps(document).encode()
    response = HttpResponse(content, content_type="application/json")
    response["Cache-Control"] = resource_metadata.CACHE_CONTROL
    response["Access-Control-Allow-Origin"] = "*"  # public; browser-based clients read it
    return response
