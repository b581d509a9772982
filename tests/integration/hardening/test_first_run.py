"""A fresh clone, as a new team member gets it (issue 9 point 23, issue 10 point 2).

The repository's tracked files are copied to a folder of their own (no ``.env``, no
database), the Makefile's ``.env`` step runs there (the step ``make install`` runs,
pointed at the current interpreter so nothing is installed again), and ``manage.py``
runs with neither ``DEBUG`` nor ``SECRET_KEY`` in the environment. ``make demo`` runs
there too, whole, on free web and MCP ports (its upstream needs 127.0.0.1:8765).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.processes  # see tests/conftest.py

# The environment a new user's shell has: nothing the tests or the machine set for the registry.
UNSET = ("DEBUG", "SECRET_KEY", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "ALLOWED_HOSTS")


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    target = tmp_path / "clone"
    for name in filter(None, tracked.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the worktree is not copied
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    assert not (target / ".env").exists()
    return target


def fresh_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in UNSET and not k.startswith("REGISTRY_")}


def manage(clone: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=clone,
        env=fresh_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def make_env(clone: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", ".env", f"PYTHON={sys.executable}"],
        cwd=clone,
        env=fresh_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_of(env_file: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in env_file.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


def test_make_install_writes_a_local_env_and_manage_py_runs(clone):
    """Issue 9 point 23: the install step writes ``.env`` (DEBUG on, a generated key) when
    there is none, and ``manage.py`` then runs in the fresh clone."""
    written = make_env(clone)
    assert written.returncode == 0, written.stderr
    assert ".env" in written.stdout  # it says it wrote the file
    values = settings_of(clone / ".env")
    assert values["DEBUG"] == "true"
    assert len(values["SECRET_KEY"]) >= 50
    # Every other setting of .env.example is carried over as it is there.
    assert set(values) == set(settings_of(clone / ".env.example"))

    checked = manage(clone, "check")
    assert checked.returncode == 0, checked.stderr
    assert "System check identified no issues" in checked.stdout
    assert "Traceback" not in checked.stderr


def test_an_existing_env_is_left_alone(clone):
    """Issue 9 point 23: ``.env`` is written only when none exists (a team's own is kept)."""
    assert make_env(clone).returncode == 0
    first = (clone / ".env").read_text()
    again = make_env(clone)
    assert again.returncode == 0, again.stderr
    assert (clone / ".env").read_text() == first
    other_clone_key = settings_of(clone / ".env")["SECRET_KEY"]
    (clone / ".env").unlink()
    assert make_env(clone).returncode == 0
    assert settings_of(clone / ".env")["SECRET_KEY"] != other_clone_key  # generated, not fixed


def test_manage_py_without_a_secret_key_says_how_to_fix_it(clone):
    """Issue 9 point 23: no ``.env`` and no ``SECRET_KEY`` with DEBUG off: one clear line,
    not an ``ImproperlyConfigured`` traceback."""
    result = manage(clone, "check")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert "SECRET_KEY" in message
    assert "make install" in message


# --------------------------------------------------------------------------- make demo

DEMO_UPSTREAM_PORT = 8765  # the shipyard-fleet fixture's baseUri


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Demo:
    """``make demo`` running in the clone (its own SQLite file), on free web and MCP
    ports; the venv is the tests' own (``-o`` keeps make from reinstalling it)."""

    def __init__(self, clone: Path, **env: str) -> None:
        venv = Path(sys.executable).parent.parent
        self.web, self.mcp = free_port(), free_port()
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [
                "make",
                "--no-print-directory",
                "-o",
                str(venv / ".installed"),
                "demo",
                f"VENV={venv}",
                f"PYTHON={sys.executable}",
                f"DEMO_PORT={self.web}",
                f"DEMO_MCP_PORT={self.mcp}",
            ],
            cwd=clone,
            env={**fresh_environment(), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: stopped as Ctrl-C stops it
        )
        self.printed = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if "--method tools/list" in line:
                self.printed.set()
        self.printed.set()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_ready(self) -> None:
        assert self.printed.wait(180), self.output
        assert self.process.poll() is None, self.output
        for url in (f"http://127.0.0.1:{self.web}/healthz", f"http://127.0.0.1:{self.mcp}/healthz"):
            for _ in range(600):
                try:
                    if httpx.get(url, timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert self.process.poll() is None, self.output
                threading.Event().wait(0.1)
            else:
                pytest.fail(f"{url} never answered:\n{self.output}")

    def key(self) -> str:
        (line,) = [line for line in self.lines if line.startswith("  export KEY=")]
        return line.removeprefix("  export KEY=")

    def curl_lines(self) -> list[str]:
        return [line.strip() for line in self.lines if line.strip().startswith("curl ")]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


@pytest.fixture
def demo_runs(clone):
    """Start ``make demo`` in the clone (again and again); every run is stopped after."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", DEMO_UPSTREAM_PORT)) == 0:
            pytest.fail(f"port {DEMO_UPSTREAM_PORT} is in use: the demo upstream needs it")
    started: list[Demo] = []

    def start(**env: str) -> Demo:
        demo = Demo(clone, **env)
        started.append(demo)
        demo.wait_ready()
        return demo

    yield start
    for demo in started:
        demo.stop()


def call_like_curl(line: str, key: str) -> httpx.Response:
    """What the printed ``curl -H "Authorization: Bearer $KEY" URL`` line sends."""
    match = re.fullmatch(r'curl -H "(Authorization): Bearer \$KEY" "?([^"]+)"?', line)
    assert match, line
    return httpx.get(match[2], headers={match[1]: f"Bearer {key}"}, timeout=30)


def list_tools(url: str, key: str) -> set[str]:
    import asyncio

    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async def use() -> set[str]:
        http = httpx2.AsyncClient(headers={"authorization": f"Bearer {key}"})
        async with http, Client(streamable_http_client(url, http_client=http)) as client:
            return {tool.name for tool in (await client.list_tools()).tools}

    return asyncio.run(use())


def test_make_demo_prints_a_key_its_curl_lines_use(demo_runs):
    """Issue 10 point 2: on a fresh clone, ``make demo`` alone prints a client key, and
    its curl lines (which send it) are answered by the demo upstream; without the key
    the same call is 401. Run again, the demo prints a new key: it works, the last one
    no longer does."""
    demo = demo_runs()
    key = demo.key()
    assert re.fullmatch(r"crk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", key), demo.output
    lines = demo.curl_lines()
    assert len(lines) == 3, demo.output
    for line in lines:
        answer = call_like_curl(line, key)
        assert answer.status_code == 200, (line, answer.text)
    ships = call_like_curl(lines[0], key).json()
    assert {"imo": "IMO9321483", "name": "Northern Meridian", "status": "active"} in ships

    url = f"http://127.0.0.1:{demo.web}/rest/fleet-api/ships"
    anonymous = httpx.get(url, timeout=30)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated"
    assert anonymous.headers["www-authenticate"].startswith("Bearer ")

    # Issue 13 point 5: one MCP URL everywhere, served.mcp_url's form, the one the
    # Inspector's line and the MCP Registry API give too; the SDK client connects to it.
    mcp_url = f"http://127.0.0.1:{demo.mcp}/mcp/fleet-tools/mcp"
    assert f"MCP (streamable HTTP, every MCP expose): {mcp_url}\n" in demo.output
    assert f"inspector --cli {mcp_url} --transport http" in demo.output
    assert '--header "Authorization: Bearer $KEY"' in demo.output
    assert list_tools(mcp_url, key) == {"list-ships", "get-ship"}
    servers_url = f"http://127.0.0.1:{demo.web}/v0.1/servers"
    assert f"MCP Registry API (server.json of every MCP expose): {servers_url}" in demo.output
    (listed,) = httpx.get(servers_url, params={"search": "fleet"}, timeout=30).json()["servers"]
    assert listed["server"]["remotes"][0]["url"] == mcp_url
    demo.stop()

    again = demo_runs()
    new_key = again.key()
    assert new_key != key  # rotated: a secret cannot be read back from its hash
    assert call_like_curl(again.curl_lines()[0], new_key).status_code == 200
    old = call_like_curl(again.curl_lines()[0], key)
    assert old.status_code == 401
    assert old.json()["code"] == "invalid_client_key"


def test_make_demo_with_demo_client_key_keeps_that_key(demo_runs):
    """Issue 10 point 2: ``DEMO_CLIENT_KEY`` fixes the demo key across runs."""
    fixed = "crk_0123abcd_" + "D" * 43
    demo = demo_runs(DEMO_CLIENT_KEY=fixed)
    assert demo.key() == fixed
    assert call_like_curl(demo.curl_lines()[1], fixed).status_code == 200
