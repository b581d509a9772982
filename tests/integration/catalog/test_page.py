"""Issue 13 point 3.

A capability's page ``/catalog/<name>/``: what it serves and how to call it, its
document, the staff link, the 404s; and that a hostile document stays data."""

from __future__ import annotations

import json
import re
import shlex

import pytest

from capabilities_app.store import models as m
from tests.conftest import run_command
from tests.integration.catalog.conftest import client_config, texts
from tests.integration.rest.conftest import load

pytestmark = pytest.mark.django_db

PREFECT_PAGE = "/catalog/prefect-account-billing/"
REST = "http://127.0.0.1:8000/rest/prefect-account-billing-rest"
MCP = "http://127.0.0.1:9090/mcp/prefect-account-billing-mcp/mcp"


@pytest.fixture(autouse=True)
def public_urls(settings):
    settings.REGISTRY_PUBLIC_URL = "http://127.0.0.1:8000"
    settings.REGISTRY_MCP_PUBLIC_URL = "http://127.0.0.1:9090"
    settings.REGISTRY_REQUIRE_CLIENT_KEY = False


def get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def badges(page: str) -> dict[str, list[str]]:
    found = {}
    for tool, body in re.findall(
        r'<article class="op mcp-tool" data-tool="([^"]+)">(.*?)</article>', page, flags=re.S
    ):
        found[tool] = re.findall(r'<span class="badge ([a-z-]+)">', body)
    return found


def test_the_prefect_page(browser_client, seeds):
    page = get(browser_client, PREFECT_PAGE)
    assert "<h1>Prefect Cloud API — Account Billing</h1>" in page
    assert "Lead operation: Cancel Org Subscription At Period End." in page
    assert 'href="/?tag=Account%20Billing"' in page
    assert "<dt>Created</dt><dd>2026-05-19</dd>" in page
    assert "<dt>Imported</dt>" in page and "<dt>Updated in the registry</dt>" in page
    assert page.count('<article class="op rest-operation"') == 8
    assert page.count('<article class="op mcp-tool"') == 8
    assert (
        '<span id="operation-count">8</span>' in page and '<span id="tool-count">8</span>' in page
    )
    # Served URLs, never the document's ports.
    assert ":8080" not in page and f"{REST}/v1/api/billing/{{account-id}}/details" in page
    assert f"{REST}/openapi.json" in page and f"{REST}/docs" in page
    assert texts(page, "mcp-url") == [MCP]
    assert texts(page, "stdio") == [
        "python manage.py run_mcp_server --transport stdio --namespace prefect-account-billing-mcp"
    ]


def test_hint_badges_are_the_true_hints(browser_client, seeds):
    found = badges(get(browser_client, PREFECT_PAGE))
    assert found == {
        "cancel-org-subscription-period-end": [],
        "create-billing-portal-session": [],
        "get-billing-details": ["read-only", "idempotent"],
        "manage-subscription": [],
        "get-checkout-link": ["read-only"],
        "get-subscription-restrictions": ["read-only", "idempotent"],
        "update-slots": [],
        "validate-subscription-status": ["read-only"],
    }


def test_input_schemas_are_the_ones_mcp_publishes(browser_client, seeds):
    page = get(browser_client, "/catalog/netbird-checkout/")
    (schema,) = texts(page, "input-schema")
    # The same schema tests/integration/mcp/test_http.py reads from tools/list.
    assert json.loads(schema) == {
        "type": "object",
        "properties": {"body": {"type": "object"}},
        "required": ["body"],
        "additionalProperties": False,
    }


def test_curl_lines(browser_client, seeds):
    lines = texts(get(browser_client, PREFECT_PAGE), "curl")
    assert lines[2] == f"curl '{REST}/v1/api/billing/<account-id>/details'"
    assert shlex.split(lines[1]) == [
        "curl",
        "-X",
        "POST",
        f"{REST}/v1/api/billing/<account-id>/create-billing-portal-session",
        "-H",
        "Content-Type: application/json",
        "-d",
        "{}",
    ]


def test_curl_line_and_client_configuration_carry_the_client_key_when_required(
    browser_client, seeds, settings
):
    settings.REGISTRY_REQUIRE_CLIENT_KEY = True
    page = get(browser_client, PREFECT_PAGE)
    details = texts(page, "curl")[2]
    assert details.endswith("-H 'Authorization: '\"Bearer $REGISTRY_KEY\"")
    # The shell joins the quoted name and the expanded placeholder into one word.
    assert shlex.split(details)[-1] == "Authorization: Bearer $REGISTRY_KEY"
    claude = json.loads(client_config(page, "claude", "prefect-account-billing-mcp"))
    assert claude == {
        "mcpServers": {
            "prefect-account-billing-mcp": {
                "type": "http",
                "url": MCP,
                "headers": {"Authorization": "Bearer ${REGISTRY_KEY}"},
            }
        }
    }
    vscode = json.loads(client_config(page, "vscode", "prefect-account-billing-mcp"))
    assert vscode["servers"]["prefect-account-billing-mcp"]["headers"] == {
        "Authorization": "Bearer ${input:registry-key}"
    }
    assert vscode["inputs"][0]["id"] == "registry-key" and vscode["inputs"][0]["password"]
    cursor = json.loads(client_config(page, "cursor", "prefect-account-billing-mcp"))
    assert cursor["mcpServers"]["prefect-account-billing-mcp"] == {
        "url": MCP,
        "headers": {"Authorization": "Bearer ${env:REGISTRY_KEY}"},
    }


HOSTILE = """
naftiko: 1.0.0-alpha2
info:
  label: "<script>alert('label')</script>"
  description: "<img src=x onerror=alert(1)> it's"
  tags: ["<b>tag</b>"]
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: https://up.example
    resources:
    - name: things
      path: /things
      operations:
      - name: find
        method: GET
  exposes:
  - type: rest
    namespace: hostile-rest
    resources:
    - path: /things
      description: "</code></pre><script>alert(2)</script>"
      operations:
      - method: GET
        name: find
        description: "<script>alert(3)</script>"
        call: up.find
        inputParameters:
        - {name: "q'; rm -rf ~; echo '", in: query, type: string}
        - {name: "X-Evil'$(id)", in: header, type: string}
        - {name: "a\\"b", in: body, type: string}
  - type: mcp
    namespace: hostile-mcp
    description: "<script>alert(4)</script>"
    tools:
    - name: find
      description: "<script>alert(5)</script>"
      call: up.find
"""


def test_a_hostile_document_stays_data(browser_client, settings):
    settings.REGISTRY_REQUIRE_CLIENT_KEY = True
    load(HOSTILE, name="hostile")
    page = get(browser_client, "/catalog/hostile/")
    assert "<script>" not in page and "<img" not in page and "<b>tag" not in page
    assert "&lt;script&gt;alert(&#x27;label&#x27;)&lt;/script&gt;" in page
    (line,) = texts(page, "curl")
    words = shlex.split(line)
    # Every caller-visible value is one shell word, exactly as written.
    assert words[:3] == ["curl", "-X", "GET"]
    query = "q%27%3B%20rm%20-rf%20~%3B%20echo%20%27=<q'; rm -rf ~; echo '>"
    assert words[3] == f"http://127.0.0.1:8000/rest/hostile-rest/things?{query}"
    assert words[4:] == [
        "-H",
        "Authorization: Bearer $REGISTRY_KEY",
        "-H",
        "X-Evil'$(id): <X-Evil'$(id)>",
        "-H",
        "Content-Type: application/json",
        "-d",
        json.dumps({'a"b': '<a"b>'}),
    ]
    # No shell operator outside quotes (a lexer that splits them off finds none).
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    assert not [t for t in lexer if t and set(t) <= set("();<>|&")]
    # The home page lists it as text too.
    index = get(browser_client, "/")
    assert "<script>" not in index and "&lt;script&gt;" in index


def test_no_secret_is_shown(browser_client, seeds, monkeypatch):
    monkeypatch.setenv("NETBIRD_API_KEY", "nb-secret-value-7781")
    page = get(browser_client, "/catalog/netbird-checkout/")
    assert "nb-secret-value-7781" not in page
    assert "NETBIRD_API_KEY" in page  # the bind's name in the document, never its value


def test_the_raw_document_is_what_export_capability_writes(browser_client, seeds):
    exported = run_command("export_capability", "prefect-account-billing")
    assert exported.code == 0
    response = browser_client.get(f"{PREFECT_PAGE}spec.yaml")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/yaml; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="prefect-account-billing.yaml"'
    assert response.content == exported.stdout.encode("utf-8")
    page = get(browser_client, PREFECT_PAGE)
    assert f'href="{PREFECT_PAGE}spec.yaml"' in page
    # Highlighted on the server: keys in Pygments' spans, no script needed.
    assert '<div class="highlight"><pre>' in page
    assert '<span class="nt">naftiko</span>' in page


def test_the_raw_document_of_an_edited_capability_follows_the_edit(browser_client, seeds):
    m.Tool.objects.filter(name="get-billing-details").update(description="Edited in place")
    response = browser_client.get(f"{PREFECT_PAGE}spec.yaml")
    assert b"description: Edited in place" in response.content
    assert response.content == run_command(
        "export_capability", "prefect-account-billing"
    ).stdout.encode("utf-8")


def test_staff_see_edit_in_admin(browser_client, seeds, django_user_model):
    prefect, _ = seeds
    assert "Edit in admin" not in get(browser_client, PREFECT_PAGE)
    user = django_user_model.objects.create_user("someone", password="pw-12345-abc")
    browser_client.force_login(user)
    assert "Edit in admin" not in get(browser_client, PREFECT_PAGE)
    user.is_staff = True
    user.save()
    page = get(browser_client, PREFECT_PAGE)
    assert (
        f'<a class="button" id="edit-in-admin" '
        f'href="/admin/capabilities_app/capability/{prefect.pk}/change/">Edit in admin</a>'
    ) in page


@pytest.mark.parametrize("suffix", ["", "spec.yaml"])
def test_unknown_disabled_and_consumes_documents_are_404(browser_client, seeds, suffix):
    prefect, _ = seeds
    m.Capability.objects.create(name="shared-upstream", kind=m.Capability.Kind.CONSUMES)
    prefect.enabled = False
    prefect.save()
    for name in ("no-such-capability", "prefect-account-billing", "shared-upstream"):
        response = browser_client.get(f"/catalog/{name}/{suffix}")
        assert response.status_code == 404, name
        assert "No such capability" in response.content.decode()
    assert browser_client.get(f"/catalog/netbird-checkout/{suffix}").status_code == 200


def test_only_reads(browser_client, seeds):
    assert browser_client.post(PREFECT_PAGE).status_code == 405
    assert browser_client.post("/").status_code == 405
