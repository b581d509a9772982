"""``manage.py create_client_key NAME``: a client key, printed once.

The key is the only line on stdout, so a script can keep it
(``KEY=$(python manage.py create_client_key ci --grant shipyard-fleet)``); what it
grants, when it expires and its rate limit go to stderr. Every grant is checked
against the registry (``clients.check_grant``): one that names no capability, or no
exposed REST operation, MCP tool, resource or prompt of it, is refused, and nothing
is written.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from capabilities_app.access import clients
from capabilities_app.core.errors import InvalidGrant
from capabilities_app.management.commands._client_keys import describe, errors_of, label, note


class Command(BaseCommand):
    help = "Create a client key and print it (once: only its hash is kept)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="who the key is for (letters, digits, '.', '_', '-')")
        parser.add_argument(
            "--grant",
            action="append",
            default=[],
            metavar="CAPABILITY[:OPERATION_OR_TOOL]",
            help="what the key may call: a whole capability, or one exposed REST operation, "
            "MCP tool, resource or prompt of it, or registry:write (import, replace and delete "
            "capabilities through the registry API); repeat for more",
        )
        parser.add_argument(
            "--expires", type=float, metavar="DAYS", help="expire after DAYS (default: never)"
        )
        parser.add_argument("--owner", default="", help="a person or team to ask")
        parser.add_argument("--description", default="")
        parser.add_argument(
            "--rate-limit",
            default="",
            metavar="N/UNIT",
            help="calls this key may make (e.g. 600/minute, or off); default REGISTRY_RATE_LIMIT",
        )

    def handle(self, *args, **options) -> None:
        days = options["expires"]
        if days is not None and not days > 0:
            raise CommandError("--expires: a number of days above 0")
        try:
            made = clients.create_key(
                options["name"],
                grants=options["grant"],
                owner=options["owner"],
                description=options["description"],
                expires_in_days=days,
                rate_limit=options["rate_limit"],
            )
        except InvalidGrant as error:
            raise CommandError(f"--grant: {error.detail}") from error
        except ValidationError as error:
            raise CommandError(errors_of(error)) from error
        self.stdout.write(made.secret)
        in_days = f" (in {days:g} day{'' if days == 1 else 's'})" if days is not None else ""
        note(
            self.stderr,
            f"created client key {label(made.key)}\n"
            + describe(made.key, in_days)
            + f"\nThe key above is shown once: only its hash is kept. "
            f"Stop it with: manage.py revoke_client_key {made.key.name}",
        )
