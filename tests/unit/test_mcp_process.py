"""What the MCP process runs with: no SDK span per message unless asked, the SDK
transport's per-request INFO line quiet, and the hop to the worker threads."""

from __future__ import annotations

import contextvars
import logging
import threading

import anyio
import pytest
from django.test import override_settings
from mcp.server._otel import OpenTelemetryMiddleware

from capabilities_app.mcp import threads
from capabilities_app.mcp.server import RegistryServer


def _traced(server: RegistryServer) -> bool:
    return any(isinstance(m, OpenTelemetryMiddleware) for m in server.middleware)


def test_no_span_per_message_by_default():
    assert not _traced(RegistryServer("fleet-tools", None))


@override_settings(REGISTRY_MCP_TRACING=True)
def test_spans_when_asked():
    assert _traced(RegistryServer("fleet-tools", None))


def test_the_transport_logger_says_no_info_by_default():
    assert not logging.getLogger("mcp.server.streamable_http").isEnabledFor(logging.INFO)


LABEL: contextvars.ContextVar[str] = contextvars.ContextVar("label", default="unset")


def test_run_sync_runs_in_a_worker_thread_with_the_callers_context():
    def where(suffix: str) -> tuple[str, bool]:
        return LABEL.get() + suffix, threading.current_thread() is threading.main_thread()

    async def call() -> tuple[str, bool]:
        LABEL.set("caller")
        return await threads.run_sync(where, "!")

    assert anyio.run(call) == ("caller!", False)


def test_run_sync_raises_what_the_function_raises():
    def fail() -> None:
        raise ValueError("no")

    async def call() -> None:
        await threads.run_sync(fail)

    with pytest.raises(ValueError, match="no"):
        anyio.run(call)


def test_a_started_call_finishes_before_its_caller_is_cancelled():
    """As with anyio.to_thread.run_sync: the cancellation waits for the thread's call."""
    started, release, done = threading.Event(), threading.Event(), threading.Event()

    def slow() -> None:
        started.set()
        release.wait(5)
        done.set()

    async def call() -> bool:
        async with anyio.create_task_group() as group:

            async def cancel_when_started() -> None:
                while not started.is_set():
                    await anyio.sleep(0.001)
                group.cancel_scope.cancel()
                # released later, from another thread: an unshielded wait would be gone by then
                threading.Timer(0.05, release.set).start()

            group.start_soon(cancel_when_started)
            await threads.run_sync(slow)
        return done.is_set()

    assert anyio.run(call)
