"""The Celery application.

Configuration comes from Django settings under the ``CELERY_`` prefix. With no
``CELERY_BROKER_URL`` the settings turn on eager execution, so the embedded
default needs no broker.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")

app = Celery("registry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["capabilities_app.jobs"])
