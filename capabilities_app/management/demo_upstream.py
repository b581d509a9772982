"""The demo fleet registry: the local upstream ``fixtures/shipyard-fleet.yaml`` consumes.

A small, deterministic HTTP/1.1 JSON API (stdlib only, keep-alive, one thread per
connection) so ``make demo`` and the benchmarks call a real upstream offline:

- ``GET /ships[?status=...]`` lists the ships (all of them without ``status``);
- ``GET /ships/{imo_number}`` answers one ship, or 404 ``{"error": ...}``;
- every request needs ``Authorization: Bearer <token>`` (401 otherwise).

``manage.py run_demo_upstream`` starts it; nothing here imports Django.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765  # the fixture's baseUri
DEFAULT_TOKEN = "demo-fleet-token"  # noqa: S105 (a demo value, printed by make demo)

SHIPS: tuple[dict[str, Any], ...] = (
    {
        "imo_number": "IMO9321483",
        "vessel_name": "Northern Meridian",
        "vessel_type": "container_ship",
        "flag_code": "NO",
        "operational_status": "active",
        "year_built": 2007,
        "gross_tonnage": 54214,
        "dimensions": {"length_overall": 294.1},
    },
    {
        "imo_number": "IMO9074729",
        "vessel_name": "Baltic Wren",
        "vessel_type": "bulk_carrier",
        "flag_code": "FI",
        "operational_status": "active",
        "year_built": 1995,
        "gross_tonnage": 28092,
        "dimensions": {"length_overall": 189.9},
    },
    {
        "imo_number": "IMO9811000",
        "vessel_name": "Cape Solace",
        "vessel_type": "lng_carrier",
        "flag_code": "PT",
        "operational_status": "active",
        "year_built": 2019,
        "gross_tonnage": 113490,
        "dimensions": {"length_overall": 299.0},
    },
    {
        "imo_number": "IMO9398084",
        "vessel_name": "Harbour Lantern",
        "vessel_type": "ro_ro_ferry",
        "flag_code": "DK",
        "operational_status": "laid_up",
        "year_built": 2009,
        "gross_tonnage": 32012,
        "dimensions": {"length_overall": 199.4},
    },
    {
        "imo_number": "IMO9704611",
        "vessel_name": "Stella Austral",
        "vessel_type": "oil_tanker",
        "flag_code": "MT",
        "operational_status": "laid_up",
        "year_built": 2015,
        "gross_tonnage": 81380,
        "dimensions": {"length_overall": 249.9},
    },
)
_BY_IMO = {ship["imo_number"]: ship for ship in SHIPS}


def list_ships(status: str | None = None) -> list[dict[str, Any]]:
    """Every ship, or those with ``operational_status == status``."""
    return [s for s in SHIPS if not status or s["operational_status"] == status]


def answer(
    method: str, target: str, authorization: str | None, token: str
) -> tuple[int, dict[str, str], Any]:
    """(status, extra headers, JSON body) for one request; no I/O."""
    if not _authorized(authorization, token):
        return 401, {"WWW-Authenticate": 'Bearer realm="fleet"'}, {"error": "missing or bad token"}
    parts = urlsplit(target)
    segments = [unquote(s) for s in parts.path.strip("/").split("/")]
    if segments[0] != "ships" or len(segments) > 2:
        return 404, {}, {"error": f"no such resource: {parts.path}"}
    if method not in ("GET", "HEAD"):
        return 405, {"Allow": "GET, HEAD"}, {"error": f"method {method} not allowed"}
    if len(segments) == 1:
        status = dict(parse_qsl(parts.query)).get("status")
        return 200, {}, list_ships(status)
    ship = _BY_IMO.get(segments[1])
    if ship is None:
        return 404, {}, {"error": f"no ship with IMO number {segments[1]!r}"}
    return 200, {}, ship


def _authorized(authorization: str | None, token: str) -> bool:
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


def make_handler(token: str, log: Callable[[str], None] | None = None) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive; every answer has a Content-Length
        server_version = "demo-fleet-upstream"
        disable_nagle_algorithm = True
        wbufsize = 64 * 1024  # headers and body leave in one write

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)  # unused, but the connection stays in step
            status, headers, body = answer(
                self.command, self.path, self.headers.get("Authorization"), token
            )
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            if log is not None:
                log(f"{self.address_string()} {format % args}")

    return Handler


def make_server(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str = DEFAULT_TOKEN,
    log: Callable[[str], None] | None = None,
) -> ThreadingHTTPServer:
    """A bound server (``port=0`` picks a free port: see ``server_address``)."""
    server = ThreadingHTTPServer((host, port), make_handler(token, log))
    server.daemon_threads = True
    return server


def serve(server: ThreadingHTTPServer) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM's default end the process)."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
