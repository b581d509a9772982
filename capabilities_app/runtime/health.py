"""Liveness and readiness, for load balancers and orchestrators: ``/healthz``, ``/readyz``.

The web app serves both (``api/health.py``: plain Django views, no authentication, no
database query of their own) and so does the MCP server (``mcp/probes.py``), from the
same :data:`LIVENESS` and :func:`readiness`:

- ``/healthz``: 200 while the process runs.
- ``/readyz``: 200 ``ready`` when the last read of the version stamp succeeded;
  503 ``degraded`` while the database is unreachable (the catalog in memory is still
  served, ``serving_catalog_version``, with the outage's start, ``since``);
  503 ``not ready`` when no catalog could be loaded yet.

Reading readiness may load the catalog (the first time) or read the stamp (when a read
is due): a probe warms a fresh process before traffic reaches it.

Must not import Django's HTTP layer, httpx or the MCP SDK.
"""

from __future__ import annotations

from typing import Any

from capabilities_app.core import database
from capabilities_app.core.errors import DatabaseUnavailable
from capabilities_app.runtime.catalog import get_catalog

__all__ = ["LIVENESS", "readiness"]


def readiness() -> tuple[int, dict[str, Any]]:
    """The HTTP status and body of ``/readyz``."""
    try:
        version = get_catalog().version
    except DatabaseUnavailable:
        version = None
    outage = database.outage()
    if version is None:
        body: dict[str, Any] = {"status": "not ready", "database": "unavailable"}
        if outage is not None:
            body["since"] = outage.since.isoformat()
            body["error"] = outage.error
        return 503, body
    if outage is not None:
        return 503, {
            "status": "degraded",
            "database": "unavailable",
            "since": outage.since.isoformat(),
            "error": outage.error,
            "serving_catalog_version": version,
        }
    return 200, {"status": "ready", "catalog_version": version, "database": "ok"}


LIVENESS: dict[str, Any] = {"status": "alive"}
