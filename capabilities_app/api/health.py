"""The web app's probes, for load balancers and orchestrators: ``/healthz`` and ``/readyz``.

Plain Django views: no authentication, no database query of their own. ``/healthz``
answers 200 while the process runs; ``/readyz`` answers what ``runtime.health``'s
:func:`~capabilities_app.runtime.health.readiness` says (the MCP server's probes,
``mcp/probes.py``, answer from the same function).

Must not import httpx, the MCP SDK or another surface.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from capabilities_app.core import database
from capabilities_app.runtime.health import LIVENESS, readiness

__all__ = ["healthz", "readyz"]


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse(LIVENESS)


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    status, body = readiness()
    # A probe every few seconds during an outage: the outage's one warning says it all.
    return database.logged(JsonResponse(body, status=status))
