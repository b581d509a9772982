"""``manage.py revoke_client_key NAME_OR_PREFIX``: stop a client key.

Idempotent: a key already revoked is left as it is, and the command says since when.
The key row stays (its callers are told it was revoked rather than unknown).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from capabilities_app.access import clients
from capabilities_app.management.commands._client_keys import label, when


class Command(BaseCommand):
    help = "Revoke a client key, by its name or its prefix (crk_1a2b3c4d)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key", metavar="NAME_OR_PREFIX")

    def handle(self, *args, **options) -> None:
        given = options["key"].strip().rstrip("…")
        key = clients.find_key(given)
        if key is None:
            # A whole key typed here is not echoed: its prefix says enough.
            shown = given[: clients.PREFIX_LENGTH] if clients.looks_like_key(given) else given
            raise CommandError(f"no client key named or starting with {shown!r}")
        if clients.revoke(key):
            self.stdout.write(f"revoked {label(key)}")
        else:
            self.stdout.write(f"{label(key)} was already revoked on {when(key.revoked_at)}")
