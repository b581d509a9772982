"""``manage.py export_capability NAME [--output FILE] [--inline-imports]``."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from capabilities_app.store.exporter import export_yaml
from capabilities_app.store.models import Capability


class Command(BaseCommand):
    help = "Write a stored capability as a Naftiko YAML document that re-imports to the same state."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--output", "-o", help="file to write (default: standard output)")
        parser.add_argument(
            "--inline-imports",
            action="store_true",
            help="write imported consumes blocks in full instead of as location/import references",
        )

    def handle(self, *args, **options) -> None:
        capability = Capability.objects.filter(name=options["name"]).first()
        if capability is None:
            raise CommandError(f"no capability named {options['name']!r}")
        text = export_yaml(capability, inline_imports=options["inline_imports"])
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
            self.stderr.write(f"wrote {options['output']}")
        else:
            self.stdout.write(text, ending="")
