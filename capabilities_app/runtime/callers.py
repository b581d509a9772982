"""The caller kinds: where an operation's caller parameters come from (RUNTIME-CONTRACT §3).

A caller is anything with ``lookup(name)`` (:class:`Caller`): :class:`RestCaller`
reads an HTTP request, :class:`ArgumentsCaller` a dict of tool arguments. Calls do not
run on them directly: :func:`arguments_of` looks up, once, every name the operation
can read (``Operation.reads``) and keeps the values as plain data, and the call runs
on a :class:`ResolvedCaller` over that data. A synchronous REST call, a job (which
stores exactly that data) and an MCP tool call therefore send the same upstream
request. A caller's credentials are never parameters.

Must not import Django models, httpx or the MCP SDK.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from capabilities_app.core import decoding
from capabilities_app.core.errors import InvalidBody, InvalidParameter
from capabilities_app.runtime import mapping
from capabilities_app.runtime.catalog import InputParam, Operation
from capabilities_app.runtime.templating import MISSING

__all__ = [
    "CREDENTIAL_HEADERS",
    "ArgumentsCaller",
    "Caller",
    "ResolvedCaller",
    "RestCaller",
    "arguments_of",
    "normalise",
    "tool_arguments",
]


def normalise(name: str) -> str:
    """Names compared loosely: lower case, without ``-`` and ``_`` (§3)."""
    return name.lower().replace("-", "").replace("_", "")


class Caller(Protocol):
    """What an operation runs for: its caller's parameters, looked up by name.

    ``lookup`` answers a parameter's value, or ``templating.MISSING``;
    ``upstream_headers`` are sent upstream as they are (an Idempotency-Key);
    ``forwardable_headers`` are what a ``forward`` may pass on (its trusted headers).
    """

    @property
    def upstream_headers(self) -> Mapping[str, str]: ...

    def lookup(self, name: str) -> Any: ...

    def forwardable_headers(self) -> Mapping[str, str]: ...


# A caller's own credentials: never a parameter, so never sent upstream nor stored in a
# job (a ``forward`` that trusts them reads ``forwardable_headers``, not ``lookup``).
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


class ResolvedCaller:
    """Caller parameters already looked up (:func:`arguments_of`): exact names, plain data.

    What every call runs on: the synchronous REST view, a job's worker (from the
    arguments the job stored) and MCP tool calls.
    """

    def __init__(
        self, arguments: Mapping[str, Any], upstream_headers: Mapping[str, str] | None = None
    ) -> None:
        self.arguments = arguments
        # Sent upstream as they are (an Idempotency-Key), never part of the arguments.
        self.upstream_headers = dict(upstream_headers or {})

    def lookup(self, name: str) -> Any:
        return self.arguments.get(name, MISSING)

    def forwardable_headers(self) -> Mapping[str, str]:
        return {}


def arguments_of(operation: Operation, caller: Caller) -> dict[str, Any]:
    """The value of every caller parameter ``operation`` can read, as JSON-able data.

    Names the caller has no value for are left out. Raises what a lookup raises (a
    declared parameter of the wrong type: 400), before any upstream request.
    """
    arguments = {}
    for name in operation.reads:
        value = caller.lookup(name)
        if value is not MISSING:
            arguments[name] = value
    return arguments


def tool_arguments(operation: Operation, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
    """A tool call's arguments resolved by the MCP rules (exact name, then normalised).

    Resolving them again changes nothing: every name kept is found exactly.
    """
    return arguments_of(operation, ArgumentsCaller(arguments))


class ArgumentsCaller:
    """Caller parameters from a dict of arguments (an MCP tool call, a job)."""

    upstream_headers: Mapping[str, str] = {}

    def __init__(self, arguments: Mapping[str, Any] | None) -> None:
        self.arguments = dict(arguments or {})
        self._normal = {normalise(k): v for k, v in self.arguments.items()}

    def lookup(self, name: str) -> Any:
        if name in self.arguments:
            return self.arguments[name]
        if name == "body":
            return MISSING
        return self._normal.get(normalise(name), MISSING)

    def forwardable_headers(self) -> Mapping[str, str]:
        return {}


class RestCaller:
    """Caller parameters from an HTTP request, looked up as RUNTIME-CONTRACT §3 says.

    The caller's credentials are not parameters: the ``Authorization``,
    ``Proxy-Authorization`` and ``Cookie`` headers, and the expose's own credential
    (``hidden_headers``, ``hidden_query``: where its ``apikey`` is), and the registry's
    (``registry_headers``: a client key's header), are never looked up. Declared
    ``in: cookie`` parameters are read from the cookies as declared.
    """

    def __init__(
        self,
        *,
        path_values: Mapping[str, str],
        query: Iterable[tuple[str, str]],
        headers: Mapping[str, str],
        cookies: Mapping[str, str],
        body: bytes,
        content_type: str,
        declared: Iterable[InputParam] = (),
        hidden_headers: Iterable[str] = (),
        hidden_query: Iterable[str] = (),
        registry_headers: Iterable[str] = (),
    ) -> None:
        self.path_values = dict(path_values)
        self.query: dict[str, str] = {}
        for key, value in query:
            self.query.setdefault(key, value)  # the first value counts
        for key in hidden_query:
            self.query.pop(key, None)
        self.headers = {k.lower(): v for k, v in headers.items()}
        # The header of the caller's registry credential (a client key, a token): never a
        # parameter, never forwarded, even by a forward whose trustedHeaders list it.
        self.registry_headers = frozenset(h.lower() for h in registry_headers)
        self.hidden = CREDENTIAL_HEADERS.union(h.lower() for h in hidden_headers).union(
            self.registry_headers
        )
        self.cookies = dict(cookies)
        self.raw_body = body
        self.content_type = content_type
        self.declared = {p.name: p for p in declared}
        self._parsed: Any = MISSING
        # Sent upstream as they are: an Idempotency-Key lets the upstream deduplicate.
        idempotency_key = self.headers.get("idempotency-key")
        self.upstream_headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}

    def parsed_body(self) -> Any:
        """The request body: parsed JSON, else its text; MISSING when empty.

        JSON past the decoding limits (nesting, values) is refused (400), never parsed.
        """
        if self._parsed is MISSING and self.raw_body:
            try:
                self._parsed = decoding.load_json(self.raw_body)
            except decoding.Refused as exc:
                raise InvalidBody(f"the JSON request body is refused: {exc}") from exc
            except ValueError:
                self._parsed = self.raw_body.decode("utf-8", errors="replace")
        return self._parsed

    def lookup(self, name: str) -> Any:
        declared = self.declared.get(name)
        if declared is not None:
            return self._declared(declared)
        if name == "body":
            return self.parsed_body()
        wanted = normalise(name)
        for key, value in self.path_values.items():
            if normalise(key) == wanted:
                return value
        if name in self.query:
            return self.query[name]
        for key, value in self.query.items():
            if normalise(key) == wanted:
                return value
        header = name.lower()
        if header in self.headers and header not in self.hidden:
            return self.headers[header]
        body = self.parsed_body()
        if isinstance(body, dict) and name in body:
            return body[name]
        return MISSING

    def _declared(self, param: InputParam) -> Any:
        location = (param.location or "").lower()
        value: Any = MISSING
        if location == "path":
            value = self.path_values.get(param.name, MISSING)
            if value is MISSING:
                wanted = normalise(param.name)
                value = next(
                    (v for k, v in self.path_values.items() if normalise(k) == wanted), MISSING
                )
        elif location == "query":
            value = self.query.get(param.name, MISSING)
        elif location == "header":
            header = param.name.lower()
            value = MISSING if header in self.hidden else self.headers.get(header, MISSING)
        elif location == "cookie":
            value = self.cookies.get(param.name, MISSING)
        elif location == "body":
            body = self.parsed_body()
            if isinstance(param.value, str) and param.value.startswith("$"):
                return mapping.select(param.value, body) if body is not MISSING else MISSING
            if isinstance(body, dict) and param.name in body:
                return body[param.name]
            return body
        if value is MISSING:
            if param.value is not None and not (
                isinstance(param.value, str) and param.value.startswith("$")
            ):
                return param.value
            return MISSING
        return _coerce(param, value)

    def forwardable_headers(self) -> Mapping[str, str]:
        if not self.registry_headers:
            return self.headers
        return {k: v for k, v in self.headers.items() if k not in self.registry_headers}


def _coerce(param: InputParam, value: Any) -> Any:
    """Text from a path, query, header or cookie, as the declared type says."""
    if not isinstance(value, str) or param.type not in ("integer", "number", "boolean"):
        return value
    try:
        if param.type == "integer":
            return int(value)
        if param.type == "number":
            return float(value) if any(c in value for c in ".eE") else int(value)
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError(value)
    except ValueError as exc:
        raise InvalidParameter(
            f"parameter {param.name!r} must be a {param.type}, not {value!r}"
        ) from exc
