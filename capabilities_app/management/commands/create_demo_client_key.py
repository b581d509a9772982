"""``manage.py create_demo_client_key``: the demo's client key, printed alone on stdout.

``make demo`` runs it and shows the key in its ``curl`` lines. The key ``demo`` may call
every capability in the registry (granted again on each run, so new imports are
covered). A key's secret cannot be read back from its hash, so each run gives the key
a new secret (the last one stops), unless ``DEMO_CLIENT_KEY`` holds a key to use
(e.g. one an earlier run printed): then it stays the same across runs. A revoked or
expired demo key is made valid again. For local use only: it refuses to run with
``DEBUG`` off.
"""

from __future__ import annotations

import os

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from capabilities_app.access import clients
from capabilities_app.core.errors import InvalidKey
from capabilities_app.management.commands._client_keys import errors_of, label, note
from capabilities_app.management.commands._demo import DemoCommand
from capabilities_app.store.models import Capability


class Command(DemoCommand):
    help = "Create (or renew) the demo client key, granted every capability, and print it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", default="demo")

    def handle_demo(self, **options) -> None:
        given = os.environ.get("DEMO_CLIENT_KEY", "").strip() or None
        names = list(Capability.objects.order_by("name").values_list("name", flat=True))
        try:
            made = clients.reissue_key(
                options["name"],
                grants=names,
                secret=given,
                owner="make demo",
                description="The local demo's key (create_demo_client_key).",
            )
        except InvalidKey as error:
            raise CommandError(f"DEMO_CLIENT_KEY: {error.detail}") from error
        except ValidationError as error:
            raise CommandError(errors_of(error)) from error
        self.stdout.write(made.secret)
        renewal = (
            "the same each run (DEMO_CLIENT_KEY)"
            if given
            else "a new key each run (set DEMO_CLIENT_KEY to keep one)"
        )
        note(
            self.stderr,
            f"demo client key {label(made.key)}: may call every capability "
            f"({len(names)}); {renewal}",
        )
