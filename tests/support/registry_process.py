"""A registry running in its own processes, as it runs in production.

Tests of the MCP server (and anything else that needs a real server process) use a
throwaway SQLite file, the management commands, and servers started as subprocesses
on free ports of 127.0.0.1. Everything is stopped at teardown.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT

MANAGE = [sys.executable, str(ROOT / "manage.py")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pointed_at(document: str, base_uri: str) -> str:
    """The document with every consumes ``baseUri`` replaced by ``base_uri``."""
    return re.sub(r"(?m)^(\s*baseUri:).*$", rf"\1 '{base_uri}'", document)


def _database_url(workdir: Path) -> tuple[str, str | None]:
    """A database of its own: on the PostgreSQL leg a fresh database, else a SQLite file."""
    leg = os.environ.get("DATABASE_URL", "")
    if not leg.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{workdir / 'registry.sqlite3'}", None
    import uuid

    import psycopg

    name = f"registry_process_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(leg, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return leg.rsplit("/", 1)[0] + "/" + name, name


def _drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class RegistryProcess:
    def __init__(self, workdir: Path, *, database_url: str = "", **environment: str) -> None:
        """``database_url``: a database the test made (and drops) itself, e.g. behind a
        proxy; by default the registry gets one of its own (see ``_database_url``)."""
        self.workdir = workdir
        if database_url:
            self.database_name = None
        else:
            database_url, self.database_name = _database_url(workdir)
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DEBUG": "false",
            "SECRET_KEY": "test-only-secret-key",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "REGISTRY_UPSTREAM_ALLOWED_NETWORKS": "127.0.0.0/8",
            "REGISTRY_CATALOG_CHECK_SECONDS": "0.2",
            **environment,
        }
        self.processes: list[subprocess.Popen] = []
        self.manage("migrate", "-v0")

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [*MANAGE, *args], env=self.env, cwd=ROOT, capture_output=True, text=True
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def import_document(
        self,
        document: str | Path,
        *,
        name: str,
        base_uri: str | None = None,
        force: bool = False,
    ) -> None:
        """Import with the command; ``force`` overwrites edits made in the admin."""
        text = document.read_text() if isinstance(document, Path) else document
        if base_uri is not None:
            text = pointed_at(text, base_uri)
        path = self.workdir / f"{name}.yaml"
        path.write_text(text)
        self.manage("import_capability", *(["--force"] if force else []), str(path))

    def start(
        self, *args: str, ready_url: str = "", ready_text: str = "", log_name: str
    ) -> subprocess.Popen:
        """Start a process (in a session of its own) and wait until it answers or logs ready."""
        log_path = self.workdir / f"{log_name}.log"
        log = open(log_path, "w")  # noqa: SIM115 - kept open for the process
        process = subprocess.Popen(
            args,
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(log_path.read_text())
            if ready_text and ready_text in log_path.read_text():
                return process
            if ready_url:
                try:
                    httpx.get(ready_url, timeout=1)
                    return process
                except httpx.TransportError:
                    pass
            time.sleep(0.1)
        raise AssertionError(f"{log_name} did not start:\n" + log_path.read_text())

    def start_worker(self, name: str = "worker", *extra: str) -> subprocess.Popen:
        """A Celery worker (the default prefork pool) on the registry's broker."""
        return self.start(
            sys.executable,
            "-m",
            "celery",
            "-A",
            "registry",
            "worker",
            "--concurrency",
            "2",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "INFO",
            "--hostname",
            f"{name}-{os.getpid()}@%h",
            *extra,
            ready_text=" ready.",
            log_name=f"{name}-{len(self.processes)}",
        )

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """SIGKILL the process and everything it started (a worker's pool children too)."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def start_mcp(self, *extra: str) -> str:
        port = free_port()
        self.start(
            *MANAGE,
            "run_mcp_server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *extra,
            ready_url=f"http://127.0.0.1:{port}/healthz",
            log_name=f"mcp-{port}",
        )
        return f"http://127.0.0.1:{port}"

    def start_web(self, *, workers: int = 1, threads: int = 4) -> str:
        port = free_port()
        self.start(
            sys.executable,
            "-m",
            "gunicorn",
            "registry.wsgi",
            "-k",
            "gthread",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            ready_url=f"http://127.0.0.1:{port}/admin/login/",
            log_name=f"web-{port}",
        )
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if self.database_name:
            _drop_database(self.database_name)
