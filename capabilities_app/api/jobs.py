"""The jobs API: ``/api/jobs/<id>`` to read a job, and ``DELETE`` to cancel a queued one.

Only the caller that created a job can see it: the job keeps a hash of the credential
its expose authenticated the caller with (an API key for an ``apikey`` expose, else
``Authorization``; the client key, once client keys exist); a job created without one
is readable by whoever holds its id (a random UUID). Another caller's, an unknown or
an expired job is 404 alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.views import APIView

from capabilities_app.jobs import access as jobs
from capabilities_app.jobs.reading import as_json
from capabilities_app.store.models import Job

JSON = "application/json"


def job_response(job: Job, status: int = 200) -> HttpResponse:
    response = HttpResponse(json.dumps(as_json(job)), status=status, content_type=JSON)
    response["Location"] = f"/api/jobs/{job.pk}"
    return response


def credentials(request: Request) -> tuple[Mapping[str, str], Mapping[str, str]]:
    """The request's headers (case-insensitive) and query, where a caller's credential is."""
    return request.headers, request._request.GET


class JobView(APIView):
    authentication_classes = ()
    permission_classes = ()

    def get(self, request: Request, job_id) -> HttpResponse:
        return job_response(jobs.get_job(job_id, *credentials(request)))

    def delete(self, request: Request, job_id) -> HttpResponse:
        return job_response(jobs.cancel(job_id, *credentials(request)))
