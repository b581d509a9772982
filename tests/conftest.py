"""Shared test helpers: where the documents are, running commands, database snapshots;
and the ``processes`` marker kept honest (see ``pytest_runtest_protocol``)."""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
# Verbatim copies of public Naftiko files (see tests/data/corpus/_index.yaml for sources).
CORPUS = Path(__file__).resolve().parent / "data" / "corpus"
PREFECT = FIXTURES / "prefect-account-billing.yaml"
NETBIRD = FIXTURES / "netbird-checkout.yaml"
SHIPYARD = FIXTURES / "shipyard-fleet.yaml"
MAX_BYTES = 2 * 1024 * 1024


@dataclass
class CommandResult:
    code: int
    stdout: str
    stderr: str


def run_command(*args: str) -> CommandResult:
    """Run a management command; return its exit code and output instead of raising."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        err.write(f"CommandError: {exc}\n")
        code = exc.returncode
    return CommandResult(code, out.getvalue(), err.getvalue())


def database_state() -> dict[str, object]:
    """Every row of the app, as plain values: equal snapshots mean nothing changed."""
    state: dict[str, object] = {}
    for model in apps.get_app_config("capabilities_app").get_models():
        state[model.__name__] = sorted(
            (tuple(sorted((k, repr(v)) for k, v in row.items())) for row in model.objects.values()),
        )
    return state


@pytest.fixture(autouse=True)
def fresh_runtime():
    """Each test starts with no catalog in memory and a client built from its settings."""
    from capabilities_app.access import keytable
    from capabilities_app.runtime import catalog, upstream

    catalog.reset()
    keytable.reset()
    upstream.reset()
    yield
    catalog.reset()
    keytable.reset()
    upstream.reset()


@pytest.fixture
def upstream():
    """A real upstream HTTP server on 127.0.0.1 that records what it gets (per test)."""
    from tests.support.upstream import RecordingUpstream

    server = RecordingUpstream().start()
    yield server
    server.stop()


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the corpus (exports are re-imported next to their originals)."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture
def keys_required(settings):
    """REST and MCP calls need a client key (the product's default)."""
    settings.REGISTRY_REQUIRE_CLIENT_KEY = True
    from capabilities_app.access import keytable

    keytable.reset()
    yield
    keytable.reset()


# --------------------------------------------------------------------------- processes
# Tests that start processes (gunicorn, a registry's commands, Celery workers, redis-server,
# nginx, the MCP Inspector, the browser, stdio MCP servers) carry the ``processes`` marker:
# ``make test-fast`` leaves them out (``-m "not processes"``). A test without the marker
# that starts one (directly, through a fixture of any scope, or through asyncio) fails
# with a message saying so, so the fast loop stays fast and the marker stays true.

_unmarked: list[str] = []  # the node id of the test running now, when it is not marked
_popen_init = subprocess.Popen.__init__


class UnmarkedProcess(RuntimeError):
    """A test without the ``processes`` marker started a process."""


def _guarded_popen_init(self, args, *more, **options):
    if _unmarked:
        raise UnmarkedProcess(
            f"{_unmarked[0]} starts a process ({args!r:.80}): mark it (or its module) "
            "with @pytest.mark.processes"
        )
    _popen_init(self, args, *more, **options)


subprocess.Popen.__init__ = _guarded_popen_init  # type: ignore[method-assign]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    marked = item.get_closest_marker("processes") is not None
    if not marked:
        _unmarked.append(item.nodeid)
    try:
        return (yield)
    finally:
        if not marked:
            _unmarked.clear()


@pytest.fixture
def staff(client, django_user_model, settings):
    """The test client, logged in to the admin as a superuser (a test folder that needs
    another kind of staff user defines its own ``staff``)."""
    settings.ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
    user = django_user_model.objects.create_superuser("admin", "admin@example.org", None)
    client.force_login(user)
    return client
