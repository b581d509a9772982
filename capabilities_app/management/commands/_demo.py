"""The base of the local demo's commands: each refuses to run with ``DEBUG`` off."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class DemoCommand(BaseCommand):
    """A command of the local demo: ``handle_demo`` runs only with ``DEBUG`` on."""

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            name = type(self).__module__.rpartition(".")[2]  # a command is named by its module
            raise CommandError(f"{name} is for the local demo (DEBUG=true) only")
        self.handle_demo(**options)

    def handle_demo(self, **options) -> None:
        raise NotImplementedError
