"""The documented production deployment, run for real (issue 9 point 17).

``manage.py check --deploy`` with exactly the environment the README documents; then
gunicorn (few threads) with that environment behind nginx running ``docs/nginx.conf``
(TLS, two host names, static files, body limit), and 20 slow clients that send their
request bodies a byte at a time: without the proxy they hold every gunicorn thread and
a normal request waits; behind it the normal request is answered while they trickle.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import select
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import httpx
import pytest

from tests.conftest import ROOT
from tests.support.nginx import Nginx, self_signed_certificate
from tests.support.registry_process import RegistryProcess
from tests.support.upstream import Answer, RecordingUpstream

pytestmark = pytest.mark.processes  # see tests/conftest.py

ADMIN_HOST = "registry.example.com"
API_HOST = "api.registry.example.com"
SLOW_CLIENTS = 20
GUNICORN_THREADS = 2

DOCUMENT = """
naftiko: 1.0.0-alpha2
info: {label: Deployed, description: Served behind the documented nginx.}
capability:
  consumes:
  - type: http
    namespace: dep-up
    baseUri: https://upstream.example
    resources:
    - name: ships
      path: /ships
      operations:
      - {name: list, method: GET}
  exposes:
  - type: rest
    namespace: deployed
    port: 8080
    resources:
    - path: /ships
      operations:
      - {method: GET, call: dep-up.list}
    - path: /fwd/{{path}}
      forward: {targetNamespace: dep-up}
  - type: mcp
    namespace: deployed-mcp
    port: 9090
    description: Deployed over MCP.
    tools:
    - name: list-ships
      description: List the ships
      call: dep-up.list
"""
SHIPS = [{"imo": "IMO9321483"}]


def documented_environment() -> dict[str, str]:
    """The README's production environment (its ``dotenv`` block), with a real secret key."""
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"```dotenv\n(.*?)```", readme, re.S)
    assert found, "the README documents no production environment (a ```dotenv block)"
    values = dict(
        line.split("=", 1)
        for line in found.group(1).splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert values["SECRET_KEY"].startswith("<")  # a placeholder: generate one, as it says
    values["SECRET_KEY"] = secrets.token_urlsafe(50)
    return values


def check_deploy(environment: dict[str, str]) -> subprocess.CompletedProcess:
    documented = documented_environment()
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in documented
        # The suite's own defaults (keys off, no rate limit: pyproject) are not production's.
        and not k.startswith(("SECURE_", "CSRF_", "SESSION_", "REGISTRY_REQUIRE_CLIENT_KEY"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**base, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_documented_production_environment():
    """Issue 9 point 17: ``check --deploy`` is clean with the README's production environment."""
    result = check_deploy(documented_environment())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_is_not_clean_without_it():
    """Issue 9 point 17: the settings do matter: with only DEBUG off and a key, it warns."""
    result = check_deploy({"DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(50)})
    assert result.returncode != 0
    for warning in ("W004", "W008", "W012", "W016"):
        assert f"security.{warning}" in result.stderr + result.stdout


def test_check_deploy_warns_when_client_keys_are_not_required():
    """Issue 10 point 2: a production registry with keys off is an open proxy: W003."""
    result = check_deploy({**documented_environment(), "REGISTRY_REQUIRE_CLIENT_KEY": "false"})
    assert result.returncode != 0
    assert "capabilities_app.W003" in result.stderr + result.stdout


def test_check_deploy_warns_when_the_public_urls_are_not_https():
    """Issue 10 point 3: 401 challenges and token audiences name the public URLs: W005."""
    for name in ("REGISTRY_PUBLIC_URL", "REGISTRY_MCP_PUBLIC_URL"):
        result = check_deploy({**documented_environment(), name: "http://127.0.0.1:8000"})
        assert result.returncode != 0
        assert "capabilities_app.W005" in result.stderr + result.stdout
        assert name in result.stderr + result.stdout


# --------------------------------------------------------------------------- behind nginx


@pytest.fixture(scope="module")
def deployed_upstream():
    server = RecordingUpstream().start()
    server.answer("GET", "/ships", Answer(200, SHIPS))
    yield server
    server.stop()


class Deployment:
    def __init__(self, registry: RegistryProcess, web: str, mcp: str, nginx: Nginx) -> None:
        self.registry = registry
        self.web = web
        self.mcp = mcp
        self.nginx = nginx

    @property
    def web_port(self) -> int:
        return int(self.web.rsplit(":", 1)[1])

    def https(self, host: str, path: str) -> str:
        return f"https://127.0.0.1:{self.nginx.https_port}{path}"

    def request(self, method: str, host: str, path: str, **kwargs) -> httpx.Response:
        """Through nginx over TLS, as a client of ``host`` would (SNI and Host)."""
        headers = {"Host": host, **kwargs.pop("headers", {})}
        with httpx.Client(verify=False, timeout=60) as client:  # noqa: S501 - a test certificate
            return client.request(
                method,
                self.https(host, path),
                headers=headers,
                extensions={"sni_hostname": host},
                **kwargs,
            )


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, deployed_upstream):
    workdir = tmp_path_factory.mktemp("deployment")
    static = workdir / "static"
    environment = documented_environment()
    environment.pop("DATABASE_URL")  # the process's own database
    registry = RegistryProcess(workdir, **{**environment, "STATIC_ROOT": str(static)})
    nginx = None
    try:
        registry.import_document(DOCUMENT, name="deployed", base_uri=deployed_upstream.url)
        registry.manage("collectstatic", "--noinput", "-v0")
        registry.manage(
            "shell",
            "-c",
            "from django.contrib.auth.models import User; "
            "User.objects.create_superuser('ops', 'ops@example.com', 'ops-password-7f3a')",
        )
        web = registry.start_web(threads=GUNICORN_THREADS)
        mcp = registry.start_mcp()
        certificate, key = self_signed_certificate(workdir, ADMIN_HOST, API_HOST)
        (workdir / "nginx").mkdir()
        nginx = Nginx(
            workdir / "nginx",
            {
                "server 127.0.0.1:8000;": f"server {web.split('//', 1)[1]};",
                "server 127.0.0.1:9090;": f"server {mcp.split('//', 1)[1]};",
                "/etc/ssl/registry/fullchain.pem": str(certificate),
                "/etc/ssl/registry/privkey.pem": str(key),
                "/srv/registry/var/static/": f"{static}/",
            },
        )
        nginx.start()
        yield Deployment(registry, web, mcp, nginx)
    finally:
        if nginx is not None:
            nginx.stop()
        registry.stop()


class SlowClients:
    """Connections that send a POST's headers, then its body one byte every half second."""

    BODY_LENGTH = 4096

    def __init__(self, connect: Callable[[], socket.socket], host: str) -> None:
        head = (
            "POST /rest/deployed/fwd/slow HTTP/1.1\r\n"
            f"Host: {host}\r\n"
            "X-Forwarded-Proto: https\r\n"  # direct to gunicorn: as the proxy would say
            "Content-Type: application/json\r\n"
            f"Content-Length: {self.BODY_LENGTH}\r\n\r\n{{"
        ).encode()
        self.sockets = []
        for _ in range(SLOW_CLIENTS):
            connection = connect()
            connection.sendall(head)
            self.sockets.append(connection)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        while not self.stopped.wait(0.5):
            for connection in self.sockets:
                with contextlib.suppress(OSError):  # nginx or gunicorn gave up on it
                    connection.sendall(b" ")

    def answered(self) -> int:
        """How many of them got anything back so far (stops the trickle first)."""
        self.stopped.set()
        self.thread.join(timeout=10)
        count = 0
        for connection in self.sockets:
            pending = isinstance(connection, ssl.SSLSocket) and connection.pending()
            readable, _, _ = select.select([connection], [], [], 0)
            count += bool(pending or readable)
        return count

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)
        for connection in self.sockets:
            connection.close()


def plain(port: int) -> Callable[[], socket.socket]:
    return lambda: socket.create_connection(("127.0.0.1", port), timeout=30)


def tls(port: int, host: str) -> Callable[[], socket.socket]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # a test certificate

    def connect() -> socket.socket:
        raw = socket.create_connection(("127.0.0.1", port), timeout=30)
        return context.wrap_socket(raw, server_hostname=host)

    return connect


def test_without_a_proxy_slow_clients_hold_every_gunicorn_thread(deployment):
    """Issue 9 point 17 (why the proxy): 20 slow bodies straight to gunicorn hold its threads,
    and a normal request gets no answer until they leave."""
    slow = SlowClients(plain(deployment.web_port), API_HOST)
    try:
        with ThreadPoolExecutor(1) as pool:
            normal = pool.submit(
                httpx.get,
                f"{deployment.web}/rest/deployed/ships",
                headers={"Host": API_HOST, "X-Forwarded-Proto": "https"},
                timeout=120,
            )
            with pytest.raises(FutureTimeout):
                normal.result(timeout=10)  # still waiting behind the slow clients
            slow.close()
            assert normal.result(timeout=120).status_code == 200  # answered once they left
    finally:
        slow.close()


def test_behind_the_documented_nginx_slow_clients_do_not_stall_others(deployment):
    """Issue 9 point 17: behind docs/nginx.conf a normal request is answered while 20 slow
    clients are still sending their bodies (nginx holds them, not gunicorn's 2 threads)."""
    slow = SlowClients(tls(deployment.nginx.https_port, API_HOST), API_HOST)
    try:
        response = deployment.request("GET", API_HOST, "/rest/deployed/ships")
        assert response.status_code == 200, response.text
        assert response.json() == SHIPS
        assert slow.answered() == 0  # all 20 still connected, still sending
    finally:
        slow.close()


def test_the_documented_nginx_redirects_plain_http_to_https(deployment):
    """Issue 9 point 17: port 80 only redirects; HTTPS is what the registry sees as secure."""
    response = httpx.get(
        f"http://127.0.0.1:{deployment.nginx.http_port}/rest/deployed/ships",
        headers={"Host": API_HOST},
        timeout=30,
    )
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://{API_HOST}/rest/deployed/ships"


def test_the_documented_nginx_serves_the_surfaces_on_their_own_host(deployment):
    """Issue 9 points 9 and 17: REST and jobs on the API host (sandboxed, no redirect loop
    through X-Forwarded-Proto), the admin on its host, neither on the other's."""
    rest = deployment.request("GET", API_HOST, "/rest/deployed/ships")
    assert rest.status_code == 200
    assert rest.headers["Content-Security-Policy"] == "sandbox"
    assert rest.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    job = deployment.request("GET", API_HOST, "/api/jobs/00000000-0000-0000-0000-000000000000")
    assert job.status_code == 404
    assert job.headers["Content-Type"] == "application/problem+json"
    assert deployment.request("GET", ADMIN_HOST, "/rest/deployed/ships").status_code == 404
    assert deployment.request("GET", ADMIN_HOST, "/api/jobs/x").status_code == 404
    assert deployment.request("GET", API_HOST, "/admin/login/").status_code == 404
    assert deployment.request("GET", ADMIN_HOST, "/admin/login/").status_code == 200


def test_the_documented_nginx_serves_static_files_itself(deployment):
    """Issue 9 point 17: the admin's CSS comes from STATIC_ROOT through nginx (DEBUG is off)."""
    response = deployment.request("GET", ADMIN_HOST, "/static/admin/css/base.css")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/css"
    assert b"body" in response.content


def test_the_admin_logs_in_behind_the_documented_nginx(deployment):
    """Issue 9 point 17: secure cookies and CSRF work over HTTPS behind the proxy."""
    with httpx.Client(
        base_url=deployment.https(ADMIN_HOST, ""),
        verify=False,  # noqa: S501 - a test certificate
        headers={"Host": ADMIN_HOST},
        timeout=60,
    ) as client:
        page = client.get("/admin/login/", extensions={"sni_hostname": ADMIN_HOST})
        assert page.status_code == 200
        cookie = page.headers["Set-Cookie"]
        assert "csrftoken=" in cookie
        assert "Secure" in cookie
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        login = client.post(
            "/admin/login/?next=/admin/",
            data={"csrfmiddlewaretoken": token, "username": "ops", "password": "ops-password-7f3a"},
            headers={
                "Referer": f"https://{ADMIN_HOST}/admin/login/",
                "Origin": f"https://{ADMIN_HOST}",
            },
            extensions={"sni_hostname": ADMIN_HOST},
        )
        assert login.status_code == 302, login.text[:500]
        assert login.headers["Location"] == "/admin/"
        assert "Secure" in login.headers["Set-Cookie"]


def test_the_documented_nginx_refuses_an_oversized_body_as_problem_json(
    deployment, deployed_upstream
):
    """Issue 9 points 10 and 17: over client_max_body_size (= REGISTRY_MAX_BODY_BYTES) nginx
    answers the registry's own 413 problem+json; gunicorn and the upstream never see it."""
    response = deployment.request(
        "POST", API_HOST, "/rest/deployed/fwd/big", content=b"x" * (11 * 1024 * 1024)
    )
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "body_too_large"
    assert response.headers["Content-Security-Policy"] == "sandbox"
    assert deployed_upstream.calls("POST", "/big") == []


def test_a_chunked_body_through_the_documented_nginx_reaches_the_upstream(
    deployment, deployed_upstream
):
    """Issue 9 point 10: nginx reads a chunked body whole and passes it on with its length."""
    body = json.dumps({"note": "z" * 3000}).encode()
    response = deployment.request(
        "POST",
        API_HOST,
        "/rest/deployed/fwd/chunked",
        content=iter([body[:1000], body[1000:]]),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    (received,) = deployed_upstream.calls("POST", "/chunked")
    assert received.body == body


def test_mcp_is_served_through_the_documented_nginx(deployment):
    """Issue 9 point 17: /mcp/ on the API host reaches the MCP server (its Host allowed)."""
    response = deployment.request(
        "POST",
        API_HOST,
        "/mcp/deployed-mcp",
        content=json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "through-nginx", "version": "1"},
                },
            }
        ),
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["result"]["serverInfo"]["name"] == "deployed-mcp"
