"""The short path: requests under ``/rest/`` run a middleware chain of their own.

The REST surface is called by programs with a client key or a token, never with a
browser session: sessions, authentication, CSRF and messages do nothing for it but cost
(issue 12 point 3). :class:`RestShortPath`, the first entry of ``MIDDLEWARE``, hands
every request under ``/rest/`` to a second chain built from ``REST_MIDDLEWARE`` (the
security headers, the host check, the sandbox, the database-outage answer) and every
other request (the admin, the jobs API, the probes) to the full chain below it.

Being a middleware, the fork is the same under gunicorn, granian, ``manage.py
runserver`` and Django's test client: the tests exercise the chain production runs.
The short chain resolves the URL and calls the view as Django's handler does (it is one:
a ``BaseHandler`` whose middleware list is ``REST_MIDDLEWARE``), so 404, 405 and every
error keep their shapes. Must not import models, httpx, DRF or the MCP SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.module_loading import import_string

PREFIX = "/rest/"
Handler = Callable[[HttpRequest], HttpResponseBase]


def synchronous(get_response: Callable[..., Any]) -> Handler:
    """``get_response`` with Django's exception-to-response conversion; sync only here."""
    return cast(Handler, convert_exception_to_response(get_response))


class MiddlewareChain(BaseHandler):
    """Django's request handling (URL resolution, view middleware, the view, exception
    middleware) behind the synchronous middleware ``paths``, outermost first."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = tuple(paths)
        self.load_middleware()

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler.load_middleware reads settings.MIDDLEWARE; this is its synchronous
        # half over our own list (every middleware the short path uses is sync-capable).
        if is_async:
            raise ImproperlyConfigured("the short path's middleware chain is synchronous")
        self._view_middleware: list[Callable[..., Any]] = []
        self._template_response_middleware: list[Callable[..., Any]] = []
        self._exception_middleware: list[Callable[..., Any]] = []
        # _get_response (resolve, view middleware, view, exception middleware) is what
        # Django's own load_middleware wraps; django-stubs leave it out.
        view = self._get_response  # type: ignore[attr-defined]
        handler = synchronous(view)
        for path in reversed(self.paths):
            middleware = import_string(path)
            if not getattr(middleware, "sync_capable", True):
                raise ImproperlyConfigured(f"REST_MIDDLEWARE: {path} is not sync-capable")
            try:
                instance = middleware(handler)
            except MiddlewareNotUsed:
                continue
            if instance is None:
                raise ImproperlyConfigured(f"Middleware factory {path} returned None.")
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = synchronous(instance)
        self.chain = handler

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.chain(request)


class RestShortPath:
    """``/rest/`` through ``REST_MIDDLEWARE``; everything else through ``MIDDLEWARE``."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.rest = MiddlewareChain(settings.REST_MIDDLEWARE)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path_info.startswith(PREFIX):
            return self.rest(request)
        return self.get_response(request)
