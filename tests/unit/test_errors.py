"""Errors as data, defined once (issue 11 point 2)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import capabilities_app
from capabilities_app.core import errors
from capabilities_app.core.errors import (
    MethodNotAllowed,
    NotAuthenticated,
    RateLimited,
    RegistryError,
    UpstreamTimeout,
    UpstreamUnreachable,
)

APP = Path(capabilities_app.__file__).parent


def every_error() -> list[type[RegistryError]]:
    found, todo = [], [RegistryError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_registry_error_is_defined_in_the_one_errors_module():
    """Issue 11 point 2: one module lists them all; no other module of the app defines a
    RegistryError (read from the source, so a module nobody imported yet counts too)."""
    elsewhere = []
    names = {cls.__name__ for cls in every_error()}
    for path in APP.rglob("*.py"):
        if "migrations" in path.parts or path == Path(errors.__file__):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(base).rsplit(".", 1)[-1] for base in node.bases}
                if bases & names:
                    elsewhere.append(f"{path.relative_to(APP)}: {node.name}")
    assert elsewhere == []


def test_every_error_code_is_unique():
    """Issue 11 point 2: a code names one failure (`route_not_found` and `upstream_invalid`
    were each defined twice)."""
    for module in pkgutil.walk_packages(capabilities_app.__path__, "capabilities_app."):
        if ".migrations" not in module.name and ".management.commands" not in module.name:
            importlib.import_module(module.name)
    by_code: dict[str, list[str]] = {}
    for cls in every_error():
        by_code.setdefault(cls.code, []).append(cls.__name__)
    assert {code: names for code, names in by_code.items() if len(names) > 1} == {}
    assert by_code["route_not_found"] == ["RouteNotFound"]
    assert by_code["upstream_invalid"] == ["UpstreamInvalid"]


@pytest.mark.parametrize("cls", every_error(), ids=lambda cls: cls.__name__)
def test_every_error_has_a_code_a_status_and_a_title(cls):
    """Issue 11 point 2: code, status and title are data on the class."""
    assert cls.code and cls.code == cls.code.lower() and " " not in cls.code
    assert cls.title
    assert 400 <= cls.status <= 599


def test_the_problem_body_is_rfc_9457_with_the_code():
    """Issue 11 point 2: every surface renders the same body through the same method."""
    error = UpstreamTimeout("the upstream did not answer within 10 s")
    assert error.problem("/rest/x") == {
        "type": "about:blank",
        "title": "Upstream timeout",
        "status": 504,
        "detail": "the upstream did not answer within 10 s",
        "code": "upstream_timeout",
        "instance": "/rest/x",
    }
    assert "instance" not in error.problem()


def test_the_headers_go_with_the_error():
    """Issue 11 point 2: Allow, WWW-Authenticate, Retry-After and the RateLimit fields
    are the error's own, not the surface's knowledge."""
    assert MethodNotAllowed("no", ["GET", "HEAD"]).headers() == {"Allow": "GET, HEAD"}
    assert NotAuthenticated("who?", challenge='Bearer realm="x"').headers() == {
        "WWW-Authenticate": 'Bearer realm="x"'
    }
    limited = RateLimited("over", 7, {"RateLimit": '"default";r=0;t=7'})
    assert limited.headers() == {"Retry-After": "7", "RateLimit": '"default";r=0;t=7'}
    assert UpstreamTimeout().headers() == {}


def test_only_unreachable_and_timeout_are_retried_by_jobs():
    """Issue 11 point 2: the job rules read `retryable` (no tuple in jobs)."""
    retryable = {cls for cls in every_error() if cls.retryable}
    assert retryable == {UpstreamUnreachable, UpstreamTimeout}
