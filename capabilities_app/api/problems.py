"""Errors as RFC 9457 problem details (``application/problem+json``) with a stable code.

DRF's exception handler for the whole API: a registry error answers its own problem and
headers (``core.errors``); DRF's own exceptions get a code (``parse_error``,
``not_authenticated``, …); the database being unreachable is 503
``database_unavailable`` (``core.database``); anything else is left to Django (a 500,
logged).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from capabilities_app.core import database
from capabilities_app.core.errors import PROBLEM_JSON, DatabaseUnavailable, RegistryError, problem

__all__ = ["exception_handler", "plain_problem_response", "problem_response"]


def problem_response(error: RegistryError, instance: str = "") -> Response:
    response = Response(error.problem(instance), status=error.status, content_type=PROBLEM_JSON)
    for name, value in error.headers().items():
        response[name] = value
    return response


def plain_problem_response(error: RegistryError, instance: str = "") -> HttpResponse:
    """The same problem as :func:`problem_response`, for plain Django views (no DRF)."""
    response = HttpResponse(
        json.dumps(error.problem(instance)), status=error.status, content_type=PROBLEM_JSON
    )
    for name, value in error.headers().items():
        response[name] = value
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    request = context.get("request")
    instance = request.path if request is not None else ""
    if isinstance(exc, DatabaseUnavailable):
        return database.logged(problem_response(exc, instance))
    if isinstance(exc, RegistryError):
        return problem_response(exc, instance)
    if isinstance(exc, database.UNAVAILABLE):
        # A job submitted or read while the database is away (Django closes the failed
        # connection when the request ends): recorded once per outage, answered 503.
        return database.logged(problem_response(database.down(exc), instance))
    if isinstance(exc, drf.APIException):
        code = exc.default_code if isinstance(exc.default_code, str) else "error"
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        response = Response(
            problem(exc.status_code, code, code.replace("_", " ").capitalize(), detail, instance),
            status=exc.status_code,
            content_type=PROBLEM_JSON,
        )
        wait = getattr(exc, "wait", None)  # drf.Throttled's seconds to wait, when it has them
        if wait:
            response["Retry-After"] = str(int(wait))
        return response
    return None
