"""``manage.py list_client_keys``: every client key, one line each (never a secret or
a digest): name, prefix, status, owner, created, last used, expires, grants."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from capabilities_app.access import clients
from capabilities_app.management.commands._client_keys import grants_of, when
from capabilities_app.store.models import ClientKey

HEADER = ("NAME", "PREFIX", "STATUS", "OWNER", "CREATED", "LAST USED", "EXPIRES", "GRANTS")


class Command(BaseCommand):
    help = "List the client keys: status, owner, dates and grants."

    def handle(self, *args, **options) -> None:
        keys = list(ClientKey.objects.prefetch_related("grants"))
        if not keys:
            self.stdout.write("no client keys (create one: manage.py create_client_key NAME)")
            return
        rows = [HEADER] + [
            (
                key.name,
                key.prefix,
                clients.status_of(key),
                key.owner or "-",
                when(key.created_at),
                when(key.last_used_at),
                when(key.expires_at, "never"),
                ", ".join(grants_of(key)) or "(none)",
            )
            for key in keys
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER) - 1)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            self.stdout.write("  ".join([*cells, row[-1]]))
