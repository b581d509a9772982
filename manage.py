#!/usr/bin/env python
"""Django's command-line utility for capability-registry."""

import os
import sys


def _raised_by_settings(error: BaseException) -> bool:
    """Whether ``error`` came from reading the settings (a setting missing or malformed)."""
    settings_module = os.environ["DJANGO_SETTINGS_MODULE"]
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_globals.get("__name__") == settings_module:
            return True
        traceback = traceback.tb_next
    return False


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db import InterfaceError, OperationalError

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as error:
        # A setting the environment lacks is the user's to fix, not a bug: say what it is
        # and how to fix it in one line, without a traceback.
        if not _raised_by_settings(error):
            raise
        sys.exit(f"manage.py: {error}")
    except (OperationalError, InterfaceError) as error:
        if "--traceback" in sys.argv:
            raise
        # One line, not a traceback, when the database is away (an import, an export, a
        # migration); the class only: a driver's message may carry connection details.
        command = sys.argv[1] if len(sys.argv) > 1 else "manage.py"
        sys.stderr.write(
            f"{command}: the registry's database is unreachable ({type(error).__name__}); "
            "check DATABASE_URL and that the database is running\n"
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
