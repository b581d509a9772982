"""Operations that are more than one call: steps, lookups, mocks, and forwards (§7).

:func:`orchestrate` runs an operation's ``steps`` (call and lookup steps; script steps
answer 501) then its ``mappings``; :func:`mock` answers an operation's output
parameters without any upstream; :func:`forward` proxies the rest of a REST path to a
consumes as it is. A ``ref`` runs its function through ``invoke``.

Must not import Django models, httpx (``upstream`` does) or the MCP SDK.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote_plus, urlencode

from capabilities_app.core.errors import (
    InvalidParameter,
    StepNotSupported,
    UpstreamNotConfigured,
)
from capabilities_app.runtime import mapping, upstream
from capabilities_app.runtime.callers import Caller, RestCaller
from capabilities_app.runtime.catalog import CapabilityContext, Operation, Route, UpstreamOperation
from capabilities_app.runtime.outcome import JSON, Outcome
from capabilities_app.runtime.plans import build_request
from capabilities_app.runtime.requests import (
    apply_authentication,
    as_text,
    check_header,
    client,
    credential_header,
    evaluate_with,
    resolve_base_uri,
)
from capabilities_app.runtime.templating import mapping_layer, render, render_value

__all__ = ["HOP_BY_HOP", "forward", "mock", "orchestrate"]

# Never sent upstream from the caller's request, unless a forward trusts them.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


def mock(operation: Operation, caller: Caller) -> Outcome:
    binds = operation.context.binds
    data = mapping.map_outputs(
        operation.output_parameters or [],
        None,
        render=lambda template: render(template, (caller.lookup,), binds),
    )
    return Outcome(200, JSON, data=data)


# --------------------------------------------------------------------------- orchestration


def orchestrate(operation: Operation, caller: Caller) -> Outcome:
    """``steps`` then ``mappings`` (§7): call and lookup steps; script steps answer 501."""
    results: dict[str, Any] = {}
    context: CapabilityContext = operation.context
    results_layer = mapping_layer(results)
    last = None
    for step in operation.steps or []:
        if not isinstance(step, dict):
            continue
        name = str(step.get("name"))
        kind = step.get("type") or ("call" if "call" in step else "lookup")
        if kind == "call":
            target = context.operation(str(step.get("call")))
            if target is None:
                raise StepNotSupported(
                    f"step {name!r} calls {step.get('call')!r}, which is not served"
                )
            withs = evaluate_with(step.get("with"), operation, caller, (results_layer,))
            request = build_request(
                target, withs, caller, context.binds, extra_layers=(results_layer,)
            )
            response = client().send(request)
            if not 200 <= response.status < 300:
                return Outcome.as_it_came(response)
            results[name] = _project(
                mapping.decode(response.content, target.output_raw_format), target
            )
        elif kind == "lookup":
            results[name] = _lookup(step, results)
        else:
            raise StepNotSupported(
                f"step {name!r} is a {step.get('language') or kind} {kind} step; "
                "the registry stores script steps but does not run them"
            )
        last = name
    if operation.mappings:
        data: Any = {}
        for item in operation.mappings:
            if isinstance(item, dict) and item.get("targetName"):
                _set_dotted(
                    data, str(item["targetName"]), mapping.select(str(item.get("value")), results)
                )
    elif operation.output_parameters and any(
        isinstance(p, dict) and ("mapping" in p or "value" in p)
        for p in operation.output_parameters
    ):
        data = mapping.map_outputs(operation.output_parameters, results)
    else:
        data = results.get(last) if last else None
    return Outcome(200, JSON, data=data)


def _project(data: Any, target: UpstreamOperation) -> Any:
    """A step's output, with the consumed operation's named outputs added to each element.

    ``outputParameters: [{name: imo-number, value: $.imo_number}]`` on a consumed
    operation makes ``imo-number`` available to later steps (a lookup can match on it).
    """
    if not target.outputs:
        return data
    items = data if isinstance(data, list) else [data]
    for item in items:
        if isinstance(item, dict):
            for name, path in target.outputs:
                item.setdefault(name, mapping.select(path, item))
    return data


def _lookup(step: dict[str, Any], results: dict[str, Any]) -> Any:
    """A lookup step: the index entries whose ``match`` equals the looked-up value(s).

    One value gives one entry (or null); a list of values gives a list.
    """
    index = results.get(str(step.get("index"))) or []
    if isinstance(index, dict):
        index = next((v for v in index.values() if isinstance(v, list)), [index])
    wanted = mapping.select(str(step.get("lookupValue")), results)
    single = not isinstance(wanted, list)
    if single:
        wanted = [wanted]
    key = step.get("match")
    fields = [
        f.get("name") if isinstance(f, dict) else f for f in step.get("outputParameters") or []
    ]
    found = []
    for value in wanted:
        for item in index:
            if isinstance(item, dict) and item.get(key) == value:
                found.append({f: item.get(f) for f in fields} if fields else item)
                break
    if single:
        return found[0] if found else None
    return found


def _set_dotted(target: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for parent in parents:
        target = target.setdefault(parent, {})
    target[last] = value


# --------------------------------------------------------------------------- forward


def forward(route: Route, remainder: str, method: str, caller: RestCaller, query: str) -> Outcome:
    """Proxy the rest of the path to the forward's consumes, as it is (§7).

    The caller's trusted headers pass, except the one the consumes' authentication
    sends: the registry's credential replaces it (and a query API key the caller sent
    under the same name is dropped), so the upstream sees exactly one.
    """
    if route.forward is None or route.forward_context is None:
        raise UpstreamNotConfigured(f"the forward target of {route.path!r} is not configured")
    target = route.forward.upstream
    binds = route.forward_context.binds
    base = resolve_base_uri(target, binds)
    segments = remainder.strip("/").split("/") if remainder.strip("/") else []
    if any(segment in (".", "..") for segment in segments):
        raise InvalidParameter("a forwarded path may not contain '.' or '..' segments")
    # Each segment re-encoded: a decoded '?' or '#' stays part of the path.
    url = base + "/" + "/".join(quote(segment, safe="") for segment in segments)
    auth = target.authentication or {}
    if query and auth.get("type") == "apikey" and auth.get("placement") == "query":
        key = render(str(auth.get("key") or ""), (), binds)
        query = "&".join(
            pair for pair in query.split("&") if unquote_plus(pair.partition("=")[0]) != key
        )
    if query:
        url += "?" + query
    request = upstream.Request(method=method, url=url)
    trusted = {h.lower() for h in route.forward.trusted_headers} - HOP_BY_HOP
    credential = credential_header(target)
    if credential is not None:
        trusted.discard(credential)
    request.headers = []
    for name, value in caller.forwardable_headers().items():
        if name.lower() in trusted:
            check_header(name, value)
            request.headers.append((name, value))
    for param in target.parameters:
        if param.location == "header" and param.value is not None:
            text = as_text(render_value(param.value, (caller.lookup,), binds))
            check_header(param.name, text)
            request.headers.append((param.name, text))
    if caller.raw_body:
        request.content = caller.raw_body
        if caller.content_type:
            request.headers.append(("content-type", caller.content_type))
    apply_authentication(request, target, binds)
    if request.params:
        # A query API key joins the caller's query as it was sent (httpx would replace a
        # URL's query with ``params``, losing the caller's).
        request.url += ("&" if "?" in request.url else "?") + urlencode(request.params)
        request.params = []
    return Outcome.as_it_came(client().send(request))
