"""``manage.py job_maintenance``: expire old jobs and requeue lost ones (for cron).

Deletes jobs older than ``REGISTRY_JOB_RESULT_TTL`` and, with a broker, publishes
again the queued jobs untouched for ``REGISTRY_JOB_REQUEUE_SECONDS`` (their message
may have been lost with a broker restart). Celery beat runs the same when it runs.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from capabilities_app.core.errors import QueueUnavailable
from capabilities_app.jobs import upkeep


class Command(BaseCommand):
    help = "Delete expired async jobs and requeue queued jobs whose message was lost."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"deleted {upkeep.expire()} expired jobs")
        try:
            requeued = upkeep.requeue_stale()
        except QueueUnavailable as error:
            raise CommandError(f"could not requeue jobs: {error.detail}") from error
        self.stdout.write(f"requeued {requeued} queued jobs")
