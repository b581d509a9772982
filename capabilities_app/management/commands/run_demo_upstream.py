"""``manage.py run_demo_upstream [--host H] [--port P] [--token T]``: the demo fleet API.

Serves ``capabilities_app.management.demo_upstream`` (the upstream ``fixtures/shipyard-fleet.yaml``
consumes) until Ctrl-C or SIGTERM. ``--verbosity 2`` logs every request.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from capabilities_app.management import demo_upstream


class Command(BaseCommand):
    help = "Serve the demo fleet registry API (the shipyard-fleet fixture's upstream)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=demo_upstream.DEFAULT_HOST)
        parser.add_argument(
            "--port", type=int, default=demo_upstream.DEFAULT_PORT, help="0 picks a free port"
        )
        parser.add_argument(
            "--token",
            default=demo_upstream.DEFAULT_TOKEN,
            help="the bearer token callers must send (the registry's FLEET_TOKEN)",
        )

    def handle(self, *args, **options) -> None:
        log = self.stderr.write if options["verbosity"] > 1 else None
        try:
            server = demo_upstream.make_server(
                options["host"], options["port"], options["token"], log
            )
        except OSError as exc:
            raise CommandError(
                f"cannot listen on {options['host']}:{options['port']}: {exc.strerror or exc}"
            ) from exc
        host, port = server.server_address[:2]
        if isinstance(host, bytes | bytearray):  # typeshed allows bytes; AF_INET gives str
            host = host.decode()
        self.stdout.write(f"demo fleet upstream on http://{host}:{port} (GET /ships, /ships/IMO…)")
        self.stdout.flush()
        demo_upstream.serve(server)
