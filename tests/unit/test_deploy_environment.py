"""``check --deploy`` warns of ``HTTP_*`` variables in the environment (W006, issue 12 point 3).

granian, the production server, starts every request's WSGI environ from the process
environment: ``HTTP_PROXY=…`` would read as a ``Proxy`` header the client never sent.
"""

from __future__ import annotations

from capabilities_app.checks import request_like_environment


def test_an_http_variable_in_the_environment_is_named(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    warnings = request_like_environment()
    assert [w.id for w in warnings] == ["capabilities_app.W006"]
    assert "HTTP_PROXY" in warnings[0].msg
    assert "proxy.internal" not in warnings[0].msg  # the name, never the value


def test_no_http_variable_no_warning(monkeypatch):
    import os

    for name in [n for n in os.environ if n.startswith("HTTP_")]:
        monkeypatch.delenv(name)
    assert request_like_environment() == []
