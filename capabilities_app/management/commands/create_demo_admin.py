"""``manage.py create_demo_admin``: a superuser for the local demo, credentials printed.

The password is ``DEMO_ADMIN_PASSWORD`` when set, else a fresh random one each run.
For local use only: it refuses to run with ``DEBUG`` off.
"""

from __future__ import annotations

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import CommandParser

from capabilities_app.management.commands._demo import DemoCommand


class Command(DemoCommand):
    help = "Create (or reset) the demo admin user and print its credentials."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")

    def handle_demo(self, **options) -> None:
        password = os.environ.get("DEMO_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(username=options["username"])
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(f"admin user: {user.username}  password: {password}")
