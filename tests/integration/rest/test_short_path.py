"""Issue 12 point 3: ``/rest/`` runs the short middleware chain, everything else the full one.

Requests under ``/rest/`` skip sessions, CSRF, authentication and messages (the request
never gets a session, a user object or a message store; no answer sets a cookie or
varies on one) and keep every header the full chain gave them: the sandbox, the
security headers, X-Frame-Options, Content-Length, the host check. The admin, the jobs
API and the probes still run the full chain: the admin's login sets its cookies and
refuses a POST without the CSRF token.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.integration.rest.conftest import load
from tests.support.upstream import Answer

pytestmark = pytest.mark.django_db

DOCUMENT = """
naftiko: 1.0.0-alpha2
info: {label: Short path, description: The REST surface's middleware chain.}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: https://upstream.example
    resources:
    - name: report
      path: /report
      operations:
      - {name: report, method: GET}
      - {name: file, method: POST}
  exposes:
  - type: rest
    namespace: short
    port: 8080
    resources:
    - path: /report
      operations:
      - method: GET
        call: up.report
        outputParameters:
        - {type: object, mapping: $.data}
      - {method: POST, call: up.file}
"""

REPORT = {"data": {"id": "r-1"}}
PASSWORD = "short-path-password-5c1e"


@pytest.fixture
def short(upstream):
    upstream.answer("GET", "/report", Answer(200, REPORT))
    upstream.answer("POST", "/report", Answer(201, {"filed": True}))
    return load(DOCUMENT, base_uri=upstream.url, name="short")


def browser_state(request) -> dict[str, object]:
    """What the browser middleware leaves on a request (``response.wsgi_request``)."""
    return {
        "session": hasattr(request, "session"),  # SessionMiddleware
        "auser": hasattr(request, "auser"),  # AuthenticationMiddleware
        "messages": hasattr(request, "_messages"),  # MessageMiddleware
        "csrf": "CSRF_COOKIE" in request.META,  # CsrfViewMiddleware
    }


SKIPPED = {"session": False, "auser": False, "messages": False, "csrf": False}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/rest/short/report", 200),
        ("post", "/rest/short/report", 201),
        ("head", "/rest/short/report", 200),
        ("options", "/rest/short/report", 405),
        ("delete", "/rest/short/report", 405),
        ("get", "/rest/short/nothing-here", 404),
        ("get", "/rest/no-such-namespace/x", 404),
    ],
)
def test_rest_answers_skip_the_browser_middleware(api, short, method, path, status):
    response = getattr(api, method)(path)
    assert response.status_code == status
    assert browser_state(response.wsgi_request) == SKIPPED
    # DRF's own "no user" (UNAUTHENTICATED_USER = None), not the auth middleware's lazy one.
    assert getattr(response.wsgi_request, "user", None) is None
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")


@pytest.mark.parametrize(
    ("path", "status"),
    [("/rest/short/report", 200), ("/rest/short/nothing-here", 404)],
)
def test_rest_answers_keep_the_security_headers(api, short, settings, path, status):
    settings.SECURE_HSTS_SECONDS = 3600
    response = api.get(path, secure=True)
    assert response.status_code == status
    assert response.headers["Content-Security-Policy"] == "sandbox"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response.headers["Strict-Transport-Security"] == "max-age=3600"
    assert response.headers["Content-Length"] == str(len(response.content))


def test_rest_keeps_the_https_redirect(api, short, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = api.get("/rest/short/report")
    assert response.status_code == 301
    assert response.headers["Location"] == "https://127.0.0.1/rest/short/report"


def test_rest_keeps_the_host_check(api, short):
    response = api.get("/rest/short/report", headers={"Host": "evil.example"})
    assert response.status_code == 400


def test_a_session_cookie_sent_to_rest_is_not_read_or_renewed(api, short, admin_user):
    api.force_login(admin_user)
    response = api.get("/rest/short/report")
    assert response.status_code == 200
    assert browser_state(response.wsgi_request) == SKIPPED
    assert "Set-Cookie" not in response.headers


def test_rest_takes_a_post_without_a_csrf_token(short):
    client = Client(HTTP_HOST="127.0.0.1", enforce_csrf_checks=True)
    response = client.post("/rest/short/report", b"{}", content_type="application/json")
    assert response.status_code == 201


@pytest.mark.parametrize("path", ["/api/jobs/00000000-0000-0000-0000-000000000000", "/healthz"])
def test_the_other_surfaces_keep_the_full_chain(api, path):
    response = api.get(path)
    assert browser_state(response.wsgi_request)["session"]
    assert browser_state(response.wsgi_request)["messages"]


def test_the_admin_keeps_sessions_csrf_and_login(api, django_user_model):
    django_user_model.objects.create_superuser("short", "short@example.com", PASSWORD)
    client = Client(HTTP_HOST="127.0.0.1", enforce_csrf_checks=True)
    page = client.get("/admin/login/")
    assert page.status_code == 200
    assert browser_state(page.wsgi_request) == {
        "session": True,
        "auser": True,
        "messages": True,
        "csrf": True,
    }
    assert "csrftoken" in page.cookies
    credentials = {"username": "short", "password": PASSWORD}
    refused = client.post("/admin/login/?next=/admin/", credentials)
    assert refused.status_code == 403  # no CSRF token: the full chain still checks it
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token is not None
    login = client.post(
        "/admin/login/?next=/admin/", {**credentials, "csrfmiddlewaretoken": token[1]}
    )
    assert login.status_code == 302
    assert login.headers["Location"] == "/admin/"
    assert "sessionid" in login.cookies
    assert client.get("/admin/").status_code == 200
