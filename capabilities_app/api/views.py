"""The REST surface: one catch-all DRF view serving every enabled REST expose.

``/rest/<expose namespace><resource path>`` is looked up in the in-memory catalog
(no database query on a warm request), the request becomes a :class:`RestCaller`,
the operation's parameters are looked up on it once (``runtime.arguments_of``), and
``runtime.invoke`` runs on them, now or in a job. Upstream answers go back as they came
(status, body, content type) or as mapped JSON; the registry's own errors are
problem+json (``api.problems``).
"""

from __future__ import annotations

import json
from urllib.parse import unquote

from django.conf import settings
from django.http import HttpResponse
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from capabilities_app.access import admission, ratelimit
from capabilities_app.access import exposes as access
from capabilities_app.api.jobs import job_response
from capabilities_app.core.errors import BodyTooLarge, LengthRequired
from capabilities_app.jobs import access as job_access
from capabilities_app.jobs import submit as jobs
from capabilities_app.runtime.callers import ResolvedCaller, RestCaller, arguments_of
from capabilities_app.runtime.catalog import get_catalog
from capabilities_app.runtime.invoke import invoke, prepare
from capabilities_app.runtime.outcome import JSON, Outcome
from capabilities_app.runtime.routing import REST_OF_PATH
from capabilities_app.runtime.steps import forward


class _FirstRenderer(BaseContentNegotiation):
    """Answers are the upstream's own content type: never refuse a request for its Accept."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


# DRF's per-request objects, made once: both are stateless (issue 12 point 3).
RENDERER = JSONRenderer()  # problem+json errors; the view's own answers are HttpResponses
NEGOTIATOR = _FirstRenderer()


def read_body(request: Request) -> bytes:
    """The raw request body, refused above ``REGISTRY_MAX_BODY_BYTES`` (413).

    A chunked body has no ``Content-Length``, so Django reads it as empty: it is read
    from the server's input instead, to its end, when the server decodes chunked bodies
    and says so (``wsgi.input_terminated``: gunicorn, the proxy's buffered request
    otherwise); a server that cannot give it gets 411, never a call without its body.
    """
    limit = settings.REGISTRY_MAX_BODY_BYTES
    if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        return _read_chunked(request.META, limit)
    declared = request.META.get("CONTENT_LENGTH") or "0"
    try:
        length = int(declared)
    except ValueError:
        length = 0
    if length > limit:
        raise BodyTooLarge(f"the request body is {length:,} bytes; the limit is {limit:,}")
    body = request._request.read(limit + 1)
    if len(body) > limit:
        raise BodyTooLarge(f"the request body is over the limit of {limit:,} bytes")
    return body


def _read_chunked(environ: dict, limit: int) -> bytes:
    if not environ.get("wsgi.input_terminated"):
        raise LengthRequired(
            "this server cannot read a chunked request body; send it with a Content-Length"
        )
    body = environ["wsgi.input"].read(limit + 1)  # decoded by the server; ends at its end
    if len(body) > limit:
        raise BodyTooLarge(f"the request body is over the limit of {limit:,} bytes")
    return body


def wants_async(request: Request) -> bool:
    """``Prefer: respond-async`` (RFC 7240), among other preferences or alone."""
    prefer = request.headers.get("Prefer", "")
    return any(
        p.split(";")[0].split("=")[0].strip().lower() == "respond-async" for p in prefer.split(",")
    )


def to_response(outcome: Outcome) -> HttpResponse:
    if outcome.content is not None:
        response = HttpResponse(
            outcome.content, status=outcome.status, content_type=outcome.content_type or None
        )
    else:
        response = HttpResponse(
            json.dumps(outcome.data, ensure_ascii=False),
            status=outcome.status,
            content_type=JSON,
        )
    for name, value in outcome.headers:  # Location, Retry-After, ... (outcome.PASSED_HEADERS)
        response[name] = value
    return response


def _raw_path(request: Request) -> str | None:
    """The path below ``/rest/`` as the client sent it (``%2F`` kept), when the server says.

    gunicorn passes ``RAW_URI`` and uWSGI ``REQUEST_URI``. granian passes neither; behind
    ``docs/nginx.conf`` the proxy's ``X-Request-URI`` (its ``$request_uri``) stands in,
    taken only when it decodes to the very path served: it can keep an encoded ``/``
    inside a segment, never route elsewhere. Without any, the decoded path is matched,
    where an encoded ``/`` inside a value splits the segment.
    """
    raw = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    header = not raw
    if header:
        raw = request.META.get("HTTP_X_REQUEST_URI")
    if not raw:
        return None
    raw = raw.split("?", 1)[0]
    if "://" in raw:  # absolute-form request target
        raw = "/" + raw.split("://", 1)[1].partition("/")[2]
    if header and unquote(raw) != request._request.path:
        return None
    prefix = request.META.get("SCRIPT_NAME", "") + "/rest/"
    return raw[len(prefix) :] if raw.startswith(prefix) else None


def route_capability(route) -> str:
    """The capability a forward route belongs to."""
    context = route.forward_context or route.context
    return context.name if context is not None else ""


class RestSurfaceView(APIView):
    """Every REST operation of every enabled capability, under ``/rest/``."""

    authentication_classes = ()
    permission_classes = ()
    throttle_classes = ()
    parser_classes = ()  # the raw body is read once, as bytes
    content_negotiation_class = _FirstRenderer
    renderer_classes = (JSONRenderer,)
    quota: ratelimit.Quota | None = None  # where the caller stands, once charged

    def get_renderers(self):
        return [RENDERER]

    def get_content_negotiator(self):
        return NEGOTIATOR

    def initial(self, request, *args, **kwargs):
        # APIView.initial's steps, each known before the request: no format suffix, no
        # version, nothing to negotiate (the answer is the upstream's own type, errors
        # are JSON), and no DRF authentication, permission or throttle (this view has
        # none: admission, access and ratelimit check the caller in serve()).
        self.format_kwarg = None
        request.accepted_renderer, request.accepted_media_type = RENDERER, RENDERER.media_type
        request.version, request.versioning_scheme = None, None

    @property
    def default_response_headers(self) -> dict[str, str]:
        # DRF would set Allow to every method this view handles; a 405 sets its own.
        return {}

    def serve(self, request: Request, path: str) -> HttpResponse:
        method = str(request.method).upper()  # always set on a request Django routed
        catalog = get_catalog()
        namespace = path.strip("/").partition("/")[0]
        # A guarded namespace asks for the credential first: a wrong method or an unknown
        # path under it is 401 to a caller without one, not a 405/404 that maps the API.
        guard = catalog.guard(path)
        capability = catalog.rest_capabilities.get(namespace)
        client = None
        registry_headers: tuple[str, ...] = ()
        if capability is not None:
            # The registry's client check comes first of all (docs/access.md): a caller
            # with no grant in the capability learns nothing of its routes.
            door = admission.Door(
                "rest", namespace, capability, guard.authentication if guard else None
            )
            client = admission.identify(door, request.headers)
            admission.authorize_capability(client, door)
            if client is not None:
                registry_headers = (admission.credential_header(door, request.headers),)
        if guard is not None:
            access.check(
                guard.authentication,
                guard.binds,
                request.headers,  # case-insensitive
                request._request.GET,
            )
        raw = _raw_path(request)
        if raw is not None:
            route, values = catalog.match(method, raw, encoded=True)
        else:
            route, values = catalog.match(method, path)
        hidden = access.NO_FIELDS
        if route.authentication and route.context is not None:
            if guard is None or route.authentication is not guard.authentication:
                access.check(
                    route.authentication,
                    route.context.binds,
                    request.headers,
                    request._request.GET,
                )
            hidden = access.credential_fields(route.authentication, route.context.binds)
        operation = route.operation(method)
        # A forward has no name of its own: only a grant of the whole capability covers it.
        target = operation.name if operation is not None else ""
        owner = operation.capability if operation is not None else route_capability(route)
        if client is not None:
            admission.authorize(client, admission.Door("rest", namespace, owner), target)
        # Charged once admitted and routed, before anything can reach an upstream: a
        # refused call (401, 403, 404, 405, 429) spends nothing (docs/access.md).
        self.quota = ratelimit.charge(client, owner, target)
        caller = RestCaller(
            path_values={k: v for k, v in values.items() if k != REST_OF_PATH},
            query=(
                (key, value) for key, values_ in request._request.GET.lists() for value in values_
            ),
            headers=request.headers,
            cookies=request.COOKIES,
            body=read_body(request),
            content_type=request.content_type or "",
            declared=operation.parameters if operation is not None else (),
            hidden_headers=hidden[0],
            hidden_query=hidden[1],
            registry_headers=registry_headers,
        )
        if operation is None:  # a forward route (always synchronous)
            remainder = values.get(REST_OF_PATH) or (list(values.values())[-1] if values else "")
            outcome = forward(
                route, remainder, method, caller, request.META.get("QUERY_STRING", "")
            )
            return to_response(outcome)
        # The call's parameters, looked up once as data: what runs now, or what a job
        # stores and runs later (the same upstream request either way).
        call = ResolvedCaller(arguments_of(operation, caller), caller.upstream_headers)
        if wants_async(request):
            return self.submit(request, route, operation, call, client)
        return to_response(invoke(operation, call))

    def finalize_response(self, request, response, *args, **kwargs):
        # Every answer to a charged call carries the RateLimit fields, an error raised
        # after the charge (a 502, a 413) too; a 429 carries its own (api.problems).
        response = super().finalize_response(request, response, *args, **kwargs)
        return ratelimit.with_headers(response, self.quota)

    def submit(self, request, route, operation, call: ResolvedCaller, client) -> HttpResponse:
        """``Prefer: respond-async``: check what can be checked now, queue the call, 202."""
        operation.check_served()  # 503 now for a part a lenient import could not wire
        if operation.call is not None:
            prepare(operation, call)  # 400 and 503 now, not in the job
        job, _created = jobs.submit(
            jobs.Submission(
                kind="rest",
                namespace=route.namespace,
                target=route.path,
                method=request.method.upper(),
                capability=operation.capability,
                arguments=dict(call.arguments),
                caller=job_access.caller_of(
                    client.id
                    if client is not None
                    else access.credential(
                        route.authentication, request.headers, request._request.GET
                    )
                ),
                idempotency_key=request.headers.get("Idempotency-Key", ""),
            )
        )
        response = job_response(job, status=202)
        response["Preference-Applied"] = "respond-async"
        return response

    # serve() answers every method, OPTIONS too (APIView's options() would describe the
    # view); its signature is not APIView.options's, hence the ignore.
    get = post = put = patch = delete = head = options = serve  # type: ignore[assignment]
