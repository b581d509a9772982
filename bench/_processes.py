"""Processes of the benchmarks that run the registry as it runs in production.

A :class:`Workspace` is one run's throwaway directory (SQLite database, documents,
logs), its environment (``DEBUG=false``, a random ``SECRET_KEY`` and ``FLEET_TOKEN``,
upstreams allowed on 127.0.0.0/8, client keys not required and no rate limit) and the
subprocesses it starts, each in a process group of its own; leaving it (normally, on an
error, on Ctrl-C or on SIGTERM/SIGHUP) stops every process it started, and what is left
of their groups, and removes the directory. The helpers below it start the demo fleet
upstream and gunicorn or granian (a second one with environment overrides of its own: keys on),
make a client key, tell whether Redis answers, wait for a server to answer, and read CPU
time from Linux ``/proc``. A key's value never reaches the output (only its prefix).

Ports, subprocesses, waiting and stopping are the tests' own helpers
(``tests/support/processes.py``); a failure there ends the benchmark with its message.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from tests.support import processes
from tests.support.processes import ROOT, gunicorn_command

FIXTURE = ROOT / "fixtures" / "shipyard-fleet.yaml"
COMMANDS = ROOT / "capabilities_app" / "management" / "commands"
FIXTURE_BASE_URI = 'baseUri: "http://127.0.0.1:8765"'
KEY_PATTERN = re.compile(r"crk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")
# The client keys of a benchmark: required, and counted by a limit that never blocks it.
KEYS_ON = {
    "REGISTRY_REQUIRE_CLIENT_KEY": "true",
    "REGISTRY_RATE_LIMIT": "100000000/minute",
}
KEYS_OFF = {"REGISTRY_REQUIRE_CLIENT_KEY": "false", "REGISTRY_RATE_LIMIT": "off"}
BENCH_REDIS_URL = "redis://127.0.0.1:6379/15"


# --------------------------------------------------------------------------- processes


def granian_command() -> list[str]:
    """The ``granian`` of this interpreter's environment (its script, else ``-m``)."""
    script = Path(sys.executable).with_name("granian")
    return [str(script)] if script.exists() else [sys.executable, "-m", "granian"]


def manage(env: dict[str, str], *args: str) -> str:
    """``manage.py args`` to the end; its standard output (exit on a failure)."""
    try:
        return processes.manage(env, *args).stdout
    except processes.ProcessFailed as failed:
        sys.exit(str(failed))


def redis_answers(url: str = BENCH_REDIS_URL) -> bool:
    """Whether Redis at ``url`` answers a PING within a second."""
    try:
        import redis
    except ImportError:
        return False
    try:
        connection = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        try:
            return bool(connection.ping())
        finally:
            connection.close()
    except (redis.RedisError, OSError):
        return False


def rate_limit_backend(redis_ok: bool) -> dict[str, str]:
    """The environment that counts limits in the bench's Redis db, or in the database
    (no Redis URL, and no redis:// broker for it to fall back on)."""
    if redis_ok:
        return {"REGISTRY_REDIS_URL": BENCH_REDIS_URL}
    return {"REGISTRY_REDIS_URL": "", "CELERY_BROKER_URL": ""}


def wait_ready(url: str, process: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    """Until ``url`` answers anything (a 401 or a 404 counts), or the process has died."""
    try:
        processes.wait_ready(process, log, url=url, timeout=timeout)
    except processes.ProcessFailed as failed:
        sys.exit(str(failed))


def worker_pids(master: int) -> list[int]:
    """The children of a process (the gunicorn worker); empty without ``/proc``."""
    try:
        return [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except OSError:
        return []


def cpu_seconds(pids: list[int]) -> float | None:
    """User plus system CPU time of ``pids`` (Linux ``/proc``), else None."""
    if not pids:
        return None
    total = 0
    try:
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    except OSError:
        return None
    return total / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- a run


INTERRUPTED = threading.Event()


class Interrupted(Exception):
    """Ctrl-C, SIGTERM or SIGHUP, raised by :func:`checkpoint` inside an event loop."""


def checkpoint() -> None:
    """Raise :class:`Interrupted` once a stop was asked for (measuring loops call this)."""
    if INTERRUPTED.is_set():
        raise Interrupted("interrupted")


def _interrupt(signum: int, frame: object) -> None:
    again = INTERRUPTED.is_set()
    INTERRUPTED.set()
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # plain code: stop right here, every ``finally`` runs
        raise KeyboardInterrupt(signal.Signals(signum).name) from None
    # In an event loop the next checkpoint() raises: the task cancellation asyncio.run
    # turns Ctrl-C into can be swallowed by the MCP SDK's task groups and leave the run
    # going. A second signal stops right here.
    if again:
        raise KeyboardInterrupt(signal.Signals(signum).name)


class Workspace:
    """One run's directory, environment and subprocesses, all gone when it is left.

    While it is open, Ctrl-C, SIGTERM and SIGHUP stop the run (see ``_interrupt``).
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self, prefix: str, **environment: str) -> None:
        self.prefix = prefix
        self.extra = environment
        self.token = secrets.token_urlsafe(16)
        self.processes: list[tuple[subprocess.Popen, int]] = []
        self.workdir = Path()
        self.env: dict[str, str] = {}
        self._handlers: dict[int, object] = {}

    def __enter__(self) -> Workspace:
        INTERRUPTED.clear()
        for sig in self.SIGNALS:
            self._handlers[sig] = signal.signal(sig, _interrupt)
        self.workdir = Path(tempfile.mkdtemp(prefix=self.prefix))
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{self.workdir / 'bench.sqlite3'}",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "ALLOWED_HOSTS": "127.0.0.1",
            "REGISTRY_UPSTREAM_ALLOWED_NETWORKS": "127.0.0.0/8",
            "FLEET_TOKEN": self.token,
            "LOG_LEVEL": "WARNING",
            # Keys off and no limit unless a server is started with KEYS_ON: the
            # benchmarks' baseline is the registry without either.
            **KEYS_OFF,
            **self.extra,
        }
        return self

    def __exit__(self, *exc_info: object) -> None:
        # A second Ctrl-C (or a SIGTERM) must not cut the cleaning short; each stop is
        # bounded (10 s, then SIGKILL).
        for sig in self.SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        try:
            for process, sig in reversed(self.processes):
                processes.stop(process, sig=sig)
            shutil.rmtree(self.workdir, ignore_errors=True)
        finally:
            for sig, handler in self._handlers.items():
                signal.signal(sig, handler)

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def spawn(
        self, name: str, command: list[str], stop_signal: int = signal.SIGTERM, **overrides: str
    ):
        """Start ``command`` (output to ``<name>.log``, the workspace's environment with
        ``overrides``); stopped with ``stop_signal`` on exit."""
        process = processes.spawn(command, {**self.env, **overrides}, self.log(name))
        self.processes.append((process, stop_signal))
        return process

    def fleet_document(self, upstream_port: int) -> Path:
        """``fixtures/shipyard-fleet.yaml`` (same file name: the capability's name), its
        baseUri pointed at the upstream's real port."""
        text = FIXTURE.read_text()
        if FIXTURE_BASE_URI not in text:
            sys.exit(f"{FIXTURE} no longer has {FIXTURE_BASE_URI}; update this benchmark")
        document = self.workdir / FIXTURE.name
        document.write_text(
            text.replace(FIXTURE_BASE_URI, f'baseUri: "http://127.0.0.1:{upstream_port}"')
        )
        return document

    def start_upstream(self, port: int) -> subprocess.Popen:
        """``manage.py run_demo_upstream`` on ``port``, expecting ``FLEET_TOKEN``."""
        command = [sys.executable, "manage.py", "run_demo_upstream"]
        command += ["--port", str(port), f"--token={self.token}"]  # it may start with "-"
        return self.spawn("upstream", command)

    def start_gunicorn(
        self,
        port: int,
        worker_class: str,
        threads: int,
        name: str = "gunicorn",
        app: str = "registry.wsgi",
        pin: tuple[str, ...] = (),
        **overrides: str,
    ) -> subprocess.Popen:
        """The production server command, one worker (CPU per request compares across runs),
        serving ``app`` (a WSGI module; the registry's by default), started behind ``pin``
        (a ``taskset -c N`` prefix, or nothing); its log is ``<name>.log``, its environment
        the workspace's with ``overrides``."""
        command = [*pin, *gunicorn_command(), app, "-k", worker_class, "--workers", "1"]
        command += ["--threads", str(threads), "--bind", f"127.0.0.1:{port}"]
        # gunicorn: INT is the quick shutdown
        return self.spawn(name, command, signal.SIGINT, **overrides)

    def start_granian(
        self,
        port: int,
        threads: int,
        name: str = "granian",
        app: str = "registry.wsgi",
        pin: tuple[str, ...] = (),
        **overrides: str,
    ) -> subprocess.Popen:
        """``app`` under granian's WSGI interface, one worker with ``threads`` blocking
        threads (the ones that run Django) and one runtime thread (Rust, its I/O), HTTP/1
        only; otherwise as :meth:`start_gunicorn`. Its worker is the master's child, as
        gunicorn's is, so ``worker_pids`` finds it."""
        command = [*pin, *granian_command(), "--interface", "wsgi", "--http", "1", "--no-ws"]
        command += ["--workers", "1", "--blocking-threads", str(threads)]
        command += ["--runtime-threads", "1", "--log-level", "warning"]
        command += ["--host", "127.0.0.1", "--port", str(port), f"{app}:application"]
        return self.spawn(name, command, signal.SIGINT, **overrides)

    def start_server(
        self,
        server: str,
        port: int,
        threads: int,
        name: str,
        app: str = "registry.wsgi",
        pin: tuple[str, ...] = (),
        **overrides: str,
    ) -> subprocess.Popen:
        """``app`` under ``server`` (``gunicorn``: gthread; ``granian``), one worker."""
        if server == "granian":
            return self.start_granian(port, threads, name, app, pin, **overrides)
        return self.start_gunicorn(port, "gthread", threads, name, app, pin, **overrides)

    def create_client_key(self, name: str, *grants: str) -> str:
        """A new client key granted ``grants`` (capabilities), made with ``manage.py
        create_client_key`` where the tree has it, else with ``clients.create_key`` in
        ``manage.py shell``; its value (kept by the caller, never printed)."""
        if (COMMANDS / "create_client_key.py").exists():
            args = ["create_client_key", name]
            for grant in grants:
                args += ["--grant", grant]
            output = manage(self.env, *args)
        else:
            code = (
                "from capabilities_app.access import clients; "
                f"print(clients.create_key({name!r}, grants={list(grants)!r}).secret)"
            )
            output = manage(self.env, "shell", "-c", code)
        found = KEY_PATTERN.search(output)
        if found is None:
            sys.exit(f"no client key in the output of {name!r}'s creation")  # not the output
        return found.group(0)
