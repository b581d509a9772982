"""``manage.py run_mcp_server``: ``[--transport http|stdio] [--host H] [--port P]
[--namespace NS ...] [--stateless]``. Parses flags; the server lives in ``capabilities_app.mcp``.
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from capabilities_app.core.errors import DatabaseUnavailable
from capabilities_app.runtime.catalog import get_catalog
from capabilities_app.store import served


class Command(BaseCommand):
    help = (
        "Serve the MCP exposes of every enabled capability: over streamable HTTP at "
        "/mcp/<namespace>/mcp (and /mcp/<namespace>), or one namespace over stdio."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--transport", choices=("http", "stdio"), default="http")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=9090)
        parser.add_argument(
            "--namespace",
            action="append",
            dest="namespaces",
            metavar="NS",
            help="serve only this MCP expose (repeat for several; stdio: exactly one)",
        )
        parser.add_argument(
            "--stateless",
            action="store_true",
            help="HTTP: no sessions, every request stands alone (for several processes, "
            "no sticky sessions)",
        )

    def handle(self, *args, **options) -> None:
        namespaces = options["namespaces"]
        check = settings.REGISTRY_CATALOG_CHECK_SECONDS or 0.5
        if options["transport"] == "stdio":
            if not namespaces or len(namespaces) != 1:
                raise CommandError("--transport stdio serves exactly one --namespace")
            try:
                catalog = get_catalog()
            except DatabaseUnavailable as error:  # one line, not a traceback
                raise CommandError(error.detail) from error
            if namespaces[0] not in catalog.mcp:
                raise CommandError(f"no enabled MCP expose has the namespace {namespaces[0]!r}")
            from capabilities_app.mcp.stdio import serve_stdio

            serve_stdio(namespaces[0], check_seconds=check)
            return
        from capabilities_app.mcp.gateway import serve_http

        # The URL clients are given (served.mcp_url), not the listening address: behind a
        # proxy the two differ.
        sys.stderr.write(
            f"MCP over streamable HTTP on {options['host']}:{options['port']}; clients connect "
            f"to {served.mcp_url('NAMESPACE')} (NAMESPACE: an MCP expose's)\n"
        )
        serve_http(
            host=options["host"],
            port=options["port"],
            namespaces=set(namespaces) if namespaces else None,
            stateless=options["stateless"],
            allowed_hosts=settings.REGISTRY_MCP_ALLOWED_HOSTS,
            allowed_origins=settings.REGISTRY_MCP_ALLOWED_ORIGINS,
            check_seconds=check,
        )
