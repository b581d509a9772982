#!/usr/bin/env python
"""Django's command-line utility for capability-registry."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
    from django.core.management import execute_from_command_line
    from django.db import InterfaceError, OperationalError

    try:
        execute_from_command_line(sys.argv)
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
