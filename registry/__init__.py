"""The Django project of capability-registry: settings, URLs and the Celery app.

Importing the Celery app here makes ``@shared_task`` bind to it in every process.
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
