"""One MCP URL everywhere (issue 13 point 5): every MCP URL the README, the docs and the
demo (the Makefile's printed lines) give is ``served.mcp_url``'s, the form that works in
the MCP Inspector and the SDK client alike. The SDK client connecting to that very form
is tests/integration/mcp_registry/test_remote_connects.py (and test_first_run for the
demo's printed line)."""

from __future__ import annotations

import re

import pytest

from capabilities_app.store import served
from tests.conftest import ROOT

DEMO_MCP = "http://127.0.0.1:9090"  # the demo's REGISTRY_MCP_PUBLIC_URL (DEMO_MCP_PORT=9090)
# A concrete MCP URL on the demo's MCP server: /mcp/ and a namespace, up to a delimiter.
MCP_URL = re.compile(re.escape(DEMO_MCP) + r"/mcp/[^\s`'\"<>)]+")


@pytest.fixture(autouse=True)
def demo_public_url(settings):
    settings.REGISTRY_MCP_PUBLIC_URL = DEMO_MCP


def mcp_urls(text: str) -> list[str]:
    return [url.rstrip(".,;:") for url in MCP_URL.findall(text)]


def assert_served_form(urls: list[str], where: str) -> None:
    for url in urls:
        namespace = url.removeprefix(f"{DEMO_MCP}/mcp/").split("/")[0]
        assert url == served.mcp_url(namespace), f"{where}: {url}"


def test_the_readme_gives_the_served_url():
    urls = mcp_urls((ROOT / "README.md").read_text())
    assert served.mcp_url("fleet-tools") in urls  # the demo's tools, as a reader copies them
    assert_served_form(urls, "README.md")


def test_the_demo_prints_the_served_url():
    makefile = (ROOT / "Makefile").read_text()
    assert "DEMO_MCP_PORT ?= 9090" in makefile
    assert "REGISTRY_MCP_PUBLIC_URL=http://127.0.0.1:$(DEMO_MCP_PORT)" in makefile
    printed = [
        line.replace("$(DEMO_MCP_PORT)", "9090")
        for line in makefile.splitlines()
        if line.strip().startswith("echo") and "/mcp/" in line
    ]
    urls = mcp_urls("\n".join(printed))
    assert urls.count(served.mcp_url("fleet-tools")) == 2  # the MCP line and the Inspector's
    assert_served_form(urls, "Makefile")


@pytest.mark.parametrize(
    "path",
    sorted([*(ROOT / "docs").glob("*.md"), ROOT / "CONTRIBUTING.md"]),
    ids=lambda p: p.name,
)
def test_the_docs_give_the_served_url(path):
    assert_served_form(mcp_urls(path.read_text()), path.name)


def test_the_check_is_not_vacuous():
    assert mcp_urls(f"see {DEMO_MCP}/mcp/fleet-tools.") == [f"{DEMO_MCP}/mcp/fleet-tools"]
    with pytest.raises(AssertionError):
        assert_served_form([f"{DEMO_MCP}/mcp/fleet-tools"], "example")
