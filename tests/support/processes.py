"""Processes the tests and the benchmarks start: free ports, subprocesses in a session of
their own, waiting until one answers, stopping one with what it left behind.

One set of helpers for ``tests/support`` (``registry_process``, ``brokers``, ``nginx``) and
``bench/`` (``bench/_processes.py`` builds its workspace on them). Must not import Django,
the app or pytest: the benchmarks import it outside any test run and before any settings.
A failure raises :class:`ProcessFailed`, an ``AssertionError`` (a test fails on it as on
an assert; a benchmark turns it into its exit message).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent.parent
MANAGE = [sys.executable, str(ROOT / "manage.py")]

__all__ = [
    "MANAGE",
    "ROOT",
    "ProcessFailed",
    "free_port",
    "gunicorn_command",
    "kill",
    "listening",
    "manage",
    "spawn",
    "stop",
    "wait_listening",
    "wait_ready",
]


class ProcessFailed(AssertionError):
    """A process exited, failed or did not answer in time; the message holds its log."""


def free_port() -> int:
    """A TCP port of 127.0.0.1 nothing listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_command() -> list[str]:
    """The ``gunicorn`` of this interpreter's environment (its script, else ``-m``)."""
    script = Path(sys.executable).with_name("gunicorn")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gunicorn"]


def manage(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """``manage.py args`` to its end in ``env``; :class:`ProcessFailed` on a failure when
    ``check``."""
    result = subprocess.run([*MANAGE, *args], env=env, cwd=ROOT, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise ProcessFailed(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """``command`` started in the project, its output (both streams) to ``log``, in a
    session (and so a process group) of its own: a terminal's Ctrl-C reaches the test run
    or the benchmark alone, which then stops its processes one by one (a gunicorn worker
    hit by SIGINT at the same time as its master can deadlock in its quit handler), and
    :func:`stop` can end what the process started."""
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait_ready(
    process: subprocess.Popen,
    log: Path,
    *,
    url: str = "",
    text: str = "",
    timeout: float = 30.0,
) -> None:
    """Until ``url`` answers anything (a 401 or a 404 counts) or ``text`` is in the log;
    :class:`ProcessFailed` with the log when the process exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ProcessFailed(f"{process.args[0]} exited ({process.returncode}):\n{_read(log)}")
        if text and text in _read(log):
            return
        if url:
            try:
                httpx.get(url, timeout=1.0)
                return
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    raise ProcessFailed(
        f"{url or process.args[0]} was not ready within {timeout:g} s:\n{_read(log)}"
    )


def _read(log: Path) -> str:
    return log.read_text(errors="replace") if log.exists() else ""


def listening(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port`` (within a second)."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_listening(process: subprocess.Popen, port: int, *, timeout: float, what: str) -> None:
    """Until ``port`` of 127.0.0.1 accepts connections; :class:`ProcessFailed` saying
    ``what`` when the process exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while not listening(port):
        if time.monotonic() > deadline or process.poll() is not None:
            raise ProcessFailed(what)
        time.sleep(0.05)


def stop(*processes: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    """``sig`` to each process still running, then up to ``timeout`` seconds for each to
    exit, then SIGKILL to its process group; and SIGKILL to what is left of every group
    (children a process did not take along, such as a stuck gunicorn worker)."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(sig)
    for process in processes:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.wait(10)
        _kill_group(process)


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the process and everything it started (a worker's pool children too)."""
    _kill_group(process)
    process.wait(timeout=10)


def _kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # its own group (start_new_session)
