"""Shared test helpers: where the documents are, running commands, database snapshots."""

from __future__ import annotations

import io
import shutil
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
