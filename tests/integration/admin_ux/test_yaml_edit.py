"""Edit as YAML (issue 14 point 2): the whole document in the editor; saving runs the
importer in one transaction; errors at their line and column with nothing written; a
valid save served by REST right after; the save stays an admin edit."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.conf import settings as django_settings

from capabilities_app.store import models as m
from capabilities_app.store.exporter import export_yaml
from capabilities_app.store.importer import file_inputs, import_documents
from tests.conftest import NETBIRD, database_state
from tests.integration.admin_ux.conftest import change_url, yaml_url
from tests.integration.rest.conftest import load

pytestmark = pytest.mark.django_db

CHECKOUT = "/v1/api/integrations/billing/checkout"


def textarea_of(page: str) -> str:
    found = re.search(r'<textarea name="document"[^>]*>\n?(.*?)</textarea>', page, re.S)
    assert found, "no textarea"
    return html.unescape(found.group(1))


def errors_of(page: str) -> list[tuple[str, str]]:
    """``(LINE:COLUMN, message)`` of each error listed above the editor."""
    listed = re.search(r'<ol id="yaml-errors">(.*?)</ol>', page, re.S)
    assert listed, "no error list"
    return [
        (where, html.unescape(re.sub(r"<[^>]+>", "", rest)).strip())
        for where, rest in re.findall(
            r'<span class="yaml-where">([^<]*)</span>(.*?)</li>', listed.group(1), re.S
        )
    ]


def annotations_of(page: str) -> list[dict]:
    found = re.search(
        r'<script id="yaml-annotations" type="application/json">(.*?)</script>', page, re.S
    )
    assert found
    return json.loads(found.group(1))


def test_the_tab_shows_the_export_in_a_labelled_textarea(staff, netbird) -> None:
    page = staff.get(yaml_url(netbird)).content.decode()
    assert textarea_of(page) == export_yaml(netbird)
    assert '<label for="id_document">Document (YAML)</label>' in page
    assert "django_ace/ace/ace.js" in page and "//cdn" not in page
    assert "capabilities_app/admin/yaml-editor.js" in page
    assert f'href="{change_url(netbird)}"' in page  # back to the capability
    # The change page links to the tab.
    assert f'href="{yaml_url(netbird)}"' in staff.get(change_url(netbird)).content.decode()


def test_an_error_is_shown_at_its_line_and_nothing_is_written(staff, netbird) -> None:
    text = export_yaml(netbird)
    broken = text.replace("method: POST", "method: FETCH", 1)
    line = (
        broken.splitlines().index(next(x for x in broken.splitlines() if "method: FETCH" in x)) + 1
    )
    state = database_state()
    response = staff.post(yaml_url(netbird), {"document": broken})
    assert response.status_code == 200
    page = response.content.decode()
    errors = errors_of(page)
    assert errors, page
    where, message = errors[0]
    assert where.startswith(f"{line}:"), errors
    assert "FETCH" in message
    assert textarea_of(page) == broken  # the admin's text kept for fixing
    (first, *_) = annotations_of(page)
    assert (first["row"], first["type"]) == (line - 1, "error")
    assert database_state() == state
    shown = [str(msg) for msg in response.context["messages"]]
    assert shown == [
        "“netbird-checkout” was not saved: 1 error in the document; nothing was written."
    ]


def test_a_yaml_syntax_error_is_located(staff, netbird) -> None:
    text = export_yaml(netbird)
    lines = text.splitlines(keepends=True)
    lines.insert(3, "  tags: [unclosed\n")
    state = database_state()
    page = staff.post(yaml_url(netbird), {"document": "".join(lines)}).content.decode()
    (where, _message), *_ = errors_of(page)
    assert re.fullmatch(r"\d+:\d+", where), where
    assert int(where.split(":")[0]) >= 4
    assert database_state() == state


def test_a_valid_edit_is_served_by_rest_next(staff, upstream, monkeypatch, settings) -> None:
    settings.ALLOWED_HOSTS = ["testserver", "127.0.0.1"]
    monkeypatch.setenv("NETBIRD_API_KEY", "nb-key-123")
    capability = load(NETBIRD, base_uri=upstream.url)
    old = f"/rest/netbird-checkout-rest{CHECKOUT}"
    assert staff.post(old, "{}", content_type="application/json").status_code == 200
    text = export_yaml(capability)
    edited = text.replace(f"path: {CHECKOUT}\n", "path: /v2/checkout\n", 1)
    assert edited != text
    response = staff.post(yaml_url(capability), {"document": edited})
    assert response.status_code == 302, errors_of(response.content.decode())
    assert response["Location"] == change_url(capability)
    new = staff.post(
        "/rest/netbird-checkout-rest/v2/checkout",
        '{"plan": "team"}',
        content_type="application/json",
    )
    assert new.status_code == 200, new.content
    assert upstream.received[-1].path == "/api/integrations/billing/checkout"
    assert upstream.received[-1].json() == {"plan": "team"}
    assert staff.post(old, "{}", content_type="application/json").status_code == 404
    capability.refresh_from_db()
    assert export_yaml(capability) == edited


def test_a_save_is_an_admin_edit(staff, netbird) -> None:
    """The capability keeps its import's provenance and is marked edited: importing the
    old file again refuses unless forced, as after any admin edit."""
    before = m.Capability.objects.get(pk=netbird.pk)
    edited = export_yaml(netbird).replace(
        "description: Create checkout session", "description: Open a checkout (YAML tab)", 1
    )
    response = staff.post(yaml_url(netbird), {"document": edited}, follow=True)
    shown = [str(msg) for msg in response.context["messages"]]
    assert shown[0].startswith("Saved “netbird-checkout” from its YAML (1 operations, 1 tools)")
    after = m.Capability.objects.get(pk=netbird.pk)
    assert after.edited_at is not None
    assert after.revision == before.revision + 1
    assert (after.source_document, after.source_origin, after.imported_at) == (
        before.source_document,
        before.source_origin,
        before.imported_at,
    )
    max_bytes = django_settings.REGISTRY_MAX_DOCUMENT_BYTES
    report = import_documents(file_inputs([NETBIRD], max_bytes=max_bytes))
    assert not report.ok
    assert report.outcomes[0].errors[0].code == "edited_in_admin"


def test_saving_the_same_document_changes_nothing(staff, netbird) -> None:
    state = database_state()
    response = staff.post(yaml_url(netbird), {"document": export_yaml(netbird)}, follow=True)
    shown = [str(msg) for msg in response.context["messages"]]
    assert shown[0] == "netbird-checkout: no change, the document is what the registry holds."
    assert database_state() == state


def test_warnings_are_shown_after_a_save(staff, prefect) -> None:
    edited = export_yaml(prefect).replace(
        "description: Get Billing Details", "description: Billing details (YAML tab)", 1
    )
    response = staff.post(yaml_url(prefect), {"document": edited}, follow=True)
    shown = [(msg.level_tag, str(msg)) for msg in response.context["messages"]]
    assert shown[0][0] == "success"
    warnings = [text for level, text in shown if level == "warning"]
    assert warnings and all(text.startswith("Warning at line ") for text in warnings), shown


def test_crlf_from_a_browser_is_saved_as_lf(staff, netbird) -> None:
    state = database_state()
    text = export_yaml(netbird).replace("\n", "\r\n")
    response = staff.post(yaml_url(netbird), {"document": text}, follow=True)
    assert "no change" in str(next(iter(response.context["messages"])))
    assert database_state() == state


def test_a_view_only_user_cannot_save(client, django_user_model, netbird, settings) -> None:
    from django.contrib.auth.models import Permission

    settings.ALLOWED_HOSTS = ["testserver"]
    user = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_capability"))
    client.force_login(user)
    page = client.get(yaml_url(netbird)).content.decode()
    assert 'name="_save_yaml"' not in page
    state = database_state()
    assert client.post(yaml_url(netbird), {"document": "naftiko: x"}).status_code == 403
    assert database_state() == state
