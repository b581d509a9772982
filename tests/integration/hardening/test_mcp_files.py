"""MCP resources and prompts read from ``file://`` locations (issue 9 point 19).

A relative ``file://`` location belongs to the document: it resolves against the
folder of the imported file, whatever the MCP server's working directory is. The
registry runs as real processes (``RegistryProcess``: the import command, then
``run_mcp_server`` whose working directory is the repository root), and the SDK's
own client reads the resource and the prompt.
"""

from __future__ import annotations

import pytest

from tests.integration.mcp.conftest import run, with_client
from tests.support.registry_process import RegistryProcess

pytestmark = pytest.mark.processes  # see tests/conftest.py

NAMESPACE = "field-notes"
DOCUMENT = f"""
naftiko: "1.0.0-alpha2"
info:
  label: Field notes
  description: Resources and prompts kept in files next to the document.
capability:
  exposes:
    - type: mcp
      port: 9090
      namespace: {NAMESPACE}
      description: Notes from files.
      tools:
        - name: ping
          description: A mock tool.
          outputParameters:
            - type: string
              value: pong
      resources:
        - name: guide
          label: Guide
          uri: notes://guide
          description: The field guide, read from a file beside the document.
          mimeType: text/markdown
          location: "file:///./notes/guide.md"
        - name: glossary
          label: Glossary
          uri: notes://glossary
          description: A file named without the ./ prefix.
          location: "file://notes/glossary.txt"
      prompts:
        - name: briefing
          label: Briefing
          description: A prompt template kept in a file.
          arguments:
            - name: crew
              description: Who is briefed
              required: true
          location: "file:///./prompts/briefing.md"
"""

GUIDE = "# Field guide\n\nRead next to the capability document.\n"
GLOSSARY = "IMO: International Maritime Organization number\n"
BRIEFING = "Brief {{crew}} on today's fleet status."


@pytest.fixture(scope="module")
def files_registry(tmp_path_factory):
    """A registry whose document sits in a folder of its own, with its files beside it."""
    workdir = tmp_path_factory.mktemp("mcp-files")
    process = RegistryProcess(workdir)
    folder = workdir / "capabilities"
    (folder / "notes").mkdir(parents=True)
    (folder / "prompts").mkdir()
    (folder / "notes" / "guide.md").write_text(GUIDE)
    (folder / "notes" / "glossary.txt").write_text(GLOSSARY)
    (folder / "prompts" / "briefing.md").write_text(BRIEFING)
    document = folder / "field-notes.yaml"
    document.write_text(DOCUMENT)
    process.manage("import_capability", str(document))
    url = process.start_mcp()
    yield url
    process.stop()


def test_relative_file_resources_are_read_from_the_documents_folder(files_registry):
    """Issue 9 point 19: a resource at a relative ``file://`` location is the file beside
    the imported document, not a path under the MCP server's working directory."""

    async def use(client):
        guide = await client.read_resource("notes://guide")
        glossary = await client.read_resource("notes://glossary")
        return guide, glossary

    guide, glossary = run(with_client(f"{files_registry}/mcp/{NAMESPACE}", use))
    (content,) = guide.contents
    assert content.text == GUIDE
    assert content.mime_type == "text/markdown"
    (content,) = glossary.contents
    assert content.text == GLOSSARY


def test_relative_file_prompts_are_read_from_the_documents_folder(files_registry):
    """Issue 9 point 19: a prompt at a relative ``file://`` location is the template file
    beside the imported document, rendered with the prompt's arguments."""

    async def use(client):
        return await client.get_prompt("briefing", {"crew": "the night watch"})

    got = run(with_client(f"{files_registry}/mcp/{NAMESPACE}", use))
    (message,) = got.messages
    assert message.role == "user"
    assert message.content.text == "Brief the night watch on today's fleet status."
