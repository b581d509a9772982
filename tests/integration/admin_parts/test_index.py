"""Point 3 of issue 14: the index lists what an admin starts from (capabilities, then
jobs, then client keys, then users and groups); a capability's parts are reached from
it, internals never; the lists across capabilities are linked, not listed as models."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.urls import reverse

from capabilities_app.store import models as m
from capabilities_app.store.served import rest_url
from tests.support.admin_forms import change_url, changelist_url

pytestmark = pytest.mark.django_db

INDEX = [
    ("capabilities_app", ["Capability", "Job", "ClientKey"]),
    ("auth", ["Group", "User"]),
]


def app_list(response) -> list[tuple[str, list[str]]]:
    return [
        (app["app_label"], [model["object_name"] for model in app["models"]])
        for app in response.context["app_list"]
    ]


def test_the_index_lists_capabilities_first_then_jobs_then_keys(staff) -> None:
    response = staff.get(reverse("admin:index"))
    assert app_list(response) == INDEX
    page = response.content.decode()
    rows = re.findall(r'<tr class="model-(\w+)', page)
    assert rows == ["capability", "job", "clientkey", "group", "user"]


def test_the_index_shows_no_part_and_no_internal(staff) -> None:
    page = staff.get(reverse("admin:index")).content.decode()
    for hidden in (
        "Registry states",
        "Aggregate functions",
        "Consumed operations",
        "Exposed parameters",
        "Tool parameters",
        "Binds",
    ):
        assert hidden not in page
        assert hidden.lower() not in page.lower()


def test_the_app_page_and_the_sidebar_list_the_same(staff, prefect) -> None:
    response = staff.get(reverse("admin:app_list", args=["capabilities_app"]))
    assert app_list(response) == INDEX[:1]
    # The navigation sidebar of any page (here a tool's).
    tool = m.Tool.objects.filter(expose__capability=prefect).first()
    sidebar = staff.get(change_url(tool)).context["available_apps"]
    assert [(a["app_label"], [x["object_name"] for x in a["models"]]) for a in sidebar] == INDEX


def test_parts_stay_registered_with_their_own_pages(staff, prefect) -> None:
    for model in (m.Tool, m.ExposedOperation, m.ConsumedOperation, m.RegistryState):
        assert admin.site.is_registered(model)
        assert staff.get(changelist_url(model)).status_code == 200


def test_the_lists_across_capabilities_are_linked_from_the_index(staff, prefect) -> None:
    page = staff.get(reverse("admin:index")).content.decode()
    section = re.search(r'<div class="module" id="across-capabilities">(.*?)</div>', page, re.S)
    assert section is not None
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', section.group(1))
    assert links == [
        (changelist_url(m.Tool), "All MCP tools"),
        (changelist_url(m.ExposedOperation), "All REST operations"),
    ]


def test_all_tools_name_their_capability(staff, prefect) -> None:
    response = staff.get(changelist_url(m.Tool))
    page = response.content.decode()
    assert response.context["cl"].result_count == 8
    assert re.search(r'<th scope="col" class="[^"]*column-capability_link', page)
    link = f'<a href="{change_url(prefect)}">prefect-account-billing</a>'
    assert page.count(link) == 8


def test_all_rest_operations_name_their_capability_and_url(staff, prefect) -> None:
    response = staff.get(changelist_url(m.ExposedOperation))
    page = response.content.decode()
    count = response.context["cl"].result_count
    assert count == m.ExposedOperation.objects.count() > 0
    assert page.count(f'<a href="{change_url(prefect)}">prefect-account-billing</a>') == count
    operation = m.ExposedOperation.objects.select_related("resource").first()
    served = rest_url("prefect-account-billing-rest", operation.resource.path)
    assert f'<td class="field-served_at">{operation.method} {served}</td>' in page


def test_a_staff_user_without_permissions_sees_no_app(client, django_user_model, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    client.force_login(django_user_model.objects.create_user("viewer", is_staff=True))
    response = client.get(reverse("admin:index"))
    assert app_list(response) == []
    assert 'id="across-capabilities"' not in response.content.decode()
