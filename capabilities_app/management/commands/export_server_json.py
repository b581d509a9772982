"""``manage.py export_server_json [--out DIR] [NAME ...]``: the MCP Registry's
``server.json`` of every MCP expose (or of those named), validated, one file per server
(``DIR/<namespace>/server.json``, the file ``mcp-publisher`` reads), for publishing to
another MCP registry. The documents are ``GET /v0.1/servers``' (``store.serverjson``).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from capabilities_app.store import serverjson


class Command(BaseCommand):
    help = (
        "Write the MCP Registry server.json of each MCP expose of the enabled capabilities "
        "(validated against the published schema), one DIR/<namespace>/server.json per server."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "names",
            nargs="*",
            metavar="NAME",
            help="server names (<REGISTRY_MCP_NAMESPACE>/<namespace>) or expose namespaces; "
            "default: every server",
        )
        parser.add_argument(
            "--out",
            default=str(Path(settings.BASE_DIR) / "var" / "server-json"),
            help="folder to write to (default: var/server-json in the project)",
        )

    def handle(self, *args, **options) -> None:
        wanted = [
            name if "/" in name else serverjson.server_name(name) for name in options["names"]
        ]
        try:
            if wanted:
                found = {name: serverjson.find_server(name) for name in wanted}
                missing = [name for name, entry in found.items() if entry is None]
                if missing:
                    raise CommandError(
                        "no MCP server named " + ", ".join(map(repr, missing)) + " is served"
                    )
                entries = [entry for entry in found.values() if entry is not None]
            else:
                entries = serverjson.list_servers()
                for namespace, reason in serverjson.unlisted():
                    self.stderr.write(f"skipped MCP expose {namespace!r}: {reason}")
        except serverjson.ServerJsonInvalid as error:  # a defect: say which document
            raise CommandError(str(error)) from error
        out = Path(options["out"])
        for entry in entries:
            path = out / entry.namespace / "server.json"
            _write(path, json.dumps(entry.document, indent=2, ensure_ascii=False) + "\n")
            self.stdout.write(f"{entry.name} {entry.version} -> {path}")
        if not entries:
            self.stderr.write("no MCP expose of an enabled capability: nothing written")


def _write(path: Path, text: str) -> None:
    """Whole or not at all: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".server.json.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
