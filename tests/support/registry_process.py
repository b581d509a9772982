"""A registry running in its own processes, as it runs in production.

Tests of the MCP server (and anything else that needs a real server process) use a
throwaway SQLite file, the management commands, and servers started as subprocesses
on free ports of 127.0.0.1. Everything is stopped at teardown.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.support import processes
from tests.support.processes import MANAGE, free_port, gunicorn_command


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
        return processes.manage(self.env, *args, check=check)

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
        log = self.workdir / f"{log_name}.log"
        process = processes.spawn(list(args), self.env, log)
        self.processes.append(process)
        try:
            processes.wait_ready(process, log, url=ready_url, text=ready_text)
        except processes.ProcessFailed as failed:
            raise AssertionError(f"{log_name} did not start: {failed}") from None
        return process

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

    kill = staticmethod(processes.kill)

    def start_mcp(self, *extra: str, port: int | None = None) -> str:
        """``run_mcp_server`` over HTTP on ``port`` (a free one unless given: a test that
        names the server's public URL in the environment picks it first); its base URL."""
        port = port or free_port()
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
            *gunicorn_command(),
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

    def start_granian(self, *, workers: int = 1, threads: int = 4) -> str:
        """The web process under granian, with the flags of docs/deployment.md."""
        port = free_port()
        script = Path(sys.executable).with_name("granian")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "granian"]
        self.start(
            *command,
            "--interface",
            "wsgi",
            "--http",
            "1",
            "--no-ws",
            "--workers",
            str(workers),
            "--blocking-threads",
            str(threads),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "registry.wsgi:application",
            ready_url=f"http://127.0.0.1:{port}/admin/login/",
            log_name=f"granian-{port}",
        )
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        processes.stop(*self.processes, sig=signal.SIGINT, timeout=15)
        if self.database_name:
            _drop_database(self.database_name)
