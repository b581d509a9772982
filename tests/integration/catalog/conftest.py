"""Fixtures of the catalog tests: the seeds imported, a browser-like client."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from capabilities_app.store import models as m
from tests.conftest import NETBIRD, PREFECT
from tests.integration.rest.conftest import load


@pytest.fixture
def seeds(db) -> tuple[m.Capability, m.Capability]:
    return load(PREFECT), load(NETBIRD)


@pytest.fixture
def browser_client(settings) -> Client:
    settings.ALLOWED_HOSTS = ["testserver"]
    return Client()


def texts(page: str, css_class: str) -> list[str]:
    """The unescaped text of every ``<pre class="css_class"><code>…</code></pre>``."""
    pattern = rf'<pre class="{css_class}"[^>]*><code>(.*?)</code></pre>'
    return [html.unescape(found) for found in re.findall(pattern, page, flags=re.S)]


def client_config(page: str, client: str, namespace: str) -> str:
    """The configuration JSON for ``client`` in the section of the MCP expose ``namespace``."""
    section = page.split(f'<section class="panel mcp-expose" data-namespace="{namespace}">')[1]
    section = section.split("</section>")[0]
    found = re.search(
        rf'<pre class="client-config" data-client="{client}"><code>(.*?)</code></pre>',
        section,
        flags=re.S,
    )
    assert found is not None, f"no {client} configuration for {namespace}"
    return html.unescape(found.group(1))
