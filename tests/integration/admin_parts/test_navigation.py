"""Point 3 of issue 14: related parts are named (never a raw id) and chosen by
autocomplete; saving a part returns to its capability; a part's breadcrumbs read
Home > Capabilities > its capability > its parents > the part."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from capabilities_app.store import models as m
from tests.support.admin_forms import change_url, edit, form_fields

from .conftest import PREFECT_NAME, part_models

pytestmark = pytest.mark.django_db

TOOL = "get-billing-details"
MCP = "prefect-account-billing-mcp"
EXPOSE_LABEL = f"mcp:{MCP} ({PREFECT_NAME})"


def tool(name: str = TOOL) -> m.Tool:
    return m.Tool.objects.get(expose__capability__name=PREFECT_NAME, name=name)


def autocomplete(client, model: str, field: str, term: str) -> list[str]:
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "capabilities_app", "model_name": model, "field_name": field, "term": term},
    )
    assert response.status_code == 200, response.content
    return [result["text"] for result in response.json()["results"]]


# --------------------------------------------------------------------------- by name


def test_a_tools_expose_and_call_are_shown_by_name(staff, prefect) -> None:
    part = tool()
    page = staff.get(change_url(part)).content.decode()
    expose = f'<option value="{part.expose_id}" selected>{html.escape(EXPOSE_LABEL)}</option>'
    assert expose in page
    call = f'<option value="{part.call_id}" selected>{part.call.call_name}</option>'
    assert call in page
    assert 'name="expose"' in page and "admin-autocomplete" in page
    assert "vForeignKeyRawIdAdminField" not in page


def test_no_part_page_shows_a_raw_id(staff, every_part) -> None:
    raw = []
    for model in part_models():
        for part in model.objects.all()[:3]:
            if "vForeignKeyRawIdAdminField" in staff.get(change_url(part)).content.decode():
                raw.append(model.__name__)
    assert raw == []


def test_the_autocomplete_names_exposes_with_their_capability(staff, prefect) -> None:
    assert autocomplete(staff, "tool", "expose", "prefect") == [
        f"rest:prefect-account-billing-rest ({PREFECT_NAME})",
        EXPOSE_LABEL,
    ]


def test_the_autocomplete_names_calls_as_they_are_written(staff, prefect) -> None:
    found = autocomplete(staff, "tool", "call", "getbillingdetails")
    assert found == [tool().call.call_name]


def test_the_autocomplete_of_a_parameters_tool(staff, every_part) -> None:
    assert autocomplete(staff, "toolparameter", "tool", "get-ship") == [
        "get-ship (fleet-tools)",
        "get-ship (shipyard-tools)",
        "get-ship-with-crew (shipyard-tools)",
    ]


def test_every_autocomplete_has_a_searchable_target(rf: RequestFactory, admin_user) -> None:
    request = rf.get("/admin/")
    request.user = admin_user
    missing = []
    for model, model_admin in admin.site._registry.items():
        for name in model_admin.get_autocomplete_fields(request):
            target = model._meta.get_field(name).related_model
            target_admin = admin.site._registry.get(target)
            if target_admin is None or not target_admin.get_search_fields(request):
                missing.append(f"{model.__name__}.{name}")
    assert missing == []


# --------------------------------------------------------------------------- after a save


def test_saving_a_tool_returns_to_its_capability(staff, prefect) -> None:
    response = edit(staff, tool(), {"description": "Edited"})
    assert response.status_code == 302
    assert response["Location"] == change_url(prefect)
    shown = staff.get(response["Location"])
    messages = [str(message) for message in shown.context["messages"]]
    assert messages == [
        f'The tool “<a href="{change_url(tool())}">{TOOL}</a>” was changed successfully.'
    ]


def test_saving_any_part_returns_to_its_capability(staff, every_part) -> None:
    wrong = []
    for model in part_models():
        part = model.objects.order_by("pk").last()
        response = edit(staff, part, {})
        capability = _capability_of(part)
        if response.status_code != 302 or response["Location"] != change_url(capability):
            wrong.append((model.__name__, response.status_code, response.get("Location")))
    assert wrong == []


def test_deleting_a_part_returns_to_its_capability(staff, prefect) -> None:
    doomed = tool()
    url = reverse("admin:capabilities_app_tool_delete", args=[doomed.pk])
    response = staff.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert response["Location"] == change_url(prefect)
    assert not m.Tool.objects.filter(pk=doomed.pk).exists()
    messages = [str(message) for message in staff.get(response["Location"]).context["messages"]]
    assert any("was deleted successfully" in message for message in messages), messages


def _capability_of(part) -> m.Capability:
    from capabilities_app.store.editing import capability_of

    return m.Capability.objects.get(pk=capability_of(part))


def test_save_and_continue_stays_on_the_part(staff, prefect) -> None:
    part = tool()
    page = staff.get(change_url(part)).content.decode()
    data = form_fields(page)
    data["_continue"] = ["Save and continue editing"]
    response = staff.post(change_url(part), data)
    assert response.status_code == 302
    assert response["Location"] == change_url(part)


def test_save_and_add_another_opens_an_empty_form(staff, prefect) -> None:
    part = tool()
    data = form_fields(staff.get(change_url(part)).content.decode())
    data["_addanother"] = ["Save and add another"]
    response = staff.post(change_url(part), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:capabilities_app_tool_add")


def test_saving_the_capability_still_returns_to_the_list(staff, prefect) -> None:
    response = edit(staff, prefect, {})
    assert response["Location"] == reverse("admin:capabilities_app_capability_changelist")


# --------------------------------------------------------------------------- breadcrumbs


def crumbs(page: str) -> list[tuple[str | None, str]]:
    """The breadcrumbs as (link or None, text)."""
    found = re.search(r'<div class="breadcrumbs part-breadcrumbs">(.*?)</div>', page, re.S)
    assert found, "no breadcrumbs"
    items = [item.strip() for item in found.group(1).split("&rsaquo;")]
    result = []
    for item in items:
        link = re.fullmatch(r'<a href="([^"]+)">(.*)</a>', item, re.S)
        text = re.sub(r"<[^>]+>", "", item).strip()
        result.append((link.group(1) if link else None, html.unescape(text)))
    return result


def test_a_tools_breadcrumbs(staff, prefect) -> None:
    part = tool()
    assert crumbs(staff.get(change_url(part)).content.decode()) == [
        (reverse("admin:index"), "Home"),
        (reverse("admin:capabilities_app_capability_changelist"), "Capabilities"),
        (change_url(prefect), PREFECT_NAME),
        (change_url(part.expose), EXPOSE_LABEL),
        (None, f"Tool {TOOL}"),
    ]


def test_a_consumed_parameters_breadcrumbs(staff, prefect) -> None:
    parameter = m.ConsumedParameter.objects.filter(
        operation__resource__consumes__capability=prefect
    ).first()
    operation = parameter.operation
    names = [text for _link, text in crumbs(staff.get(change_url(parameter)).content.decode())]
    assert names == [
        "Home",
        "Capabilities",
        PREFECT_NAME,
        f"{PREFECT_NAME} ({PREFECT_NAME})",
        f"{operation.resource.name} {operation.resource.path} ({PREFECT_NAME})",
        operation.call_name,
        f"Consumed parameter {parameter}",
    ]


def test_every_part_page_leads_to_its_capability(staff, every_part) -> None:
    wrong = []
    for model in part_models():
        part = model.objects.order_by("pk").last()
        found = crumbs(staff.get(change_url(part)).content.decode())
        if (
            found[:3]
            != [
                (reverse("admin:index"), "Home"),
                (reverse("admin:capabilities_app_capability_changelist"), "Capabilities"),
                (change_url(_capability_of(part)), _capability_of(part).name),
            ]
            or found[-1][0] is not None
        ):
            wrong.append((model.__name__, found))
    assert wrong == []
