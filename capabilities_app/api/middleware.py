"""Django middleware of the registry: a database outage answers 503 problem+json.

Any Django view that needs the database (the admin, the jobs API, a login) raises an
``OperationalError`` or ``InterfaceError`` when it is unreachable; instead of Django's
HTML 500 the caller gets the same problem+json the REST surface answers
(``database_unavailable``, naming the error's class), and the outage is recorded
(``database``: one warning per outage). DRF views answer through ``api.problems`` first.

Must not import models, httpx or the MCP SDK.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse

from capabilities_app.core import database
from capabilities_app.core.errors import PROBLEM_JSON, DatabaseUnavailable


def problem_response(error: DatabaseUnavailable, instance: str) -> HttpResponse:
    body = error.problem(instance)
    response = HttpResponse(json.dumps(body), status=error.status, content_type=PROBLEM_JSON)
    return database.logged(response)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, database.UNAVAILABLE):
            # Django closes the failed connection when the request ends (request_finished).
            return problem_response(database.down(exception), request.path)
        if isinstance(exception, DatabaseUnavailable):
            return problem_response(exception, request.path)
        return None
