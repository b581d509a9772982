"""Client keys in the admin, through Django's test client: list, filter, search, create
(the key shown once), revoke (action and button), re-grant (the grants inline)."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from capabilities_app.access import clients, keytable
from capabilities_app.store.models import ClientGrant, ClientKey
from tests.conftest import CORPUS, SHIPYARD, database_state
from tests.integration.access.test_client_keys import table_rows_holding
from tests.integration.rest.conftest import load
from tests.support.admin_forms import change_url, changelist_url, form_fields
from tests.support.keys import expire, make_key, revoke

pytestmark = pytest.mark.django_db

# An MCP expose with a tool, resources and prompts, and a consumed operation of another name.
RESOURCES_PROMPTS = CORPUS / "naftiko__framework" / "mcp-resources-prompts-capability.yaml"


@pytest.fixture
def api(settings) -> Client:
    """A client of the REST surface."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "testserver"]
    return Client(HTTP_HOST="127.0.0.1")


ADD_URL = "/admin/capabilities_app/clientkey/add/"
KEY = re.compile(r"crk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


@pytest.fixture
def staff(client: Client, django_user_model, settings) -> Client:
    settings.ALLOWED_HOSTS = ["testserver", "127.0.0.1"]
    settings.REGISTRY_CATALOG_CHECK_SECONDS = 0
    user = django_user_model.objects.create_superuser("admin", "admin@example.org", None)
    client.force_login(user)
    return client


@pytest.fixture
def capabilities():
    load(SHIPYARD)
    load(RESOURCES_PROMPTS, name="resources-prompts")


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def add_form(staff: Client, **fields: str) -> dict[str, list[str]]:
    """The add page's form as a browser posts it, with ``fields`` filled in (grant rows
    as ``grants-N-capability`` and so on)."""
    page = staff.get(ADD_URL)
    assert page.status_code == 200
    data = form_fields(page.content.decode())
    rows = {int(name.split("-")[1]) for name in fields if name.startswith("grants-")}
    if rows:
        data["grants-TOTAL_FORMS"] = [str(max(rows) + 1)]
    for name, value in fields.items():
        data[name] = [value]
    data["_save"] = ["Save"]
    return data


def create(staff: Client, **fields: str):
    return staff.post(ADD_URL, add_form(staff, **fields))


class TestList:
    def test_the_list_shows_each_key_and_never_a_digest(self, staff, capabilities):
        """Issue 10 point 1: name, prefix, owner, grants, created, last used, expires,
        status; the digest nowhere."""
        used = make_key("used-bot", "shipyard-fleet:get-ship", owner="team-a")
        keytable.find_client(used)
        make_key("gone-bot", "shipyard-fleet", "resources-prompts:query-database")
        revoke("gone-bot")
        make_key("old-bot")
        expire("old-bot")

        response = staff.get(changelist_url(ClientKey))

        assert response.status_code == 200
        text = page_text(response)
        headers = ("Name", "Prefix", "Owner", "Grants", "Created at", "Last used at", "Expires at")
        for header in (*headers, "Status"):
            assert f">{header}<" in text or f">{header}</a>" in text, header
        rows = {row.name: row for row in response.context["cl"].result_list}  # the page's own rows
        assert set(rows) == {"used-bot", "gone-bot", "old-bot"}
        assert used[:12] in text
        assert "team-a" in text
        assert "shipyard-fleet:get-ship" in text
        assert "resources-prompts:query-database, shipyard-fleet" in text
        for status in ("active", "revoked", "expired"):
            assert f'class="key-status key-{status}"' in text
        for key in ClientKey.objects.all():
            assert key.digest not in text
        assert used not in text

    @pytest.mark.parametrize("status", ["active", "revoked", "expired"])
    def test_filter_by_status(self, staff, status):
        """Issue 10 point 1: the list filters by status."""
        for name in ("active-bot", "revoked-bot", "expired-bot"):
            make_key(name)
        revoke("revoked-bot")
        expire("expired-bot")
        response = staff.get(changelist_url(ClientKey), {"status": status})
        assert response.status_code == 200
        assert [k.name for k in response.context["cl"].result_list] == [f"{status}-bot"]

    @pytest.mark.parametrize("by", ["name", "prefix", "owner"])
    def test_search_by_name_prefix_or_owner(self, staff, by):
        wanted = make_key("wanted-bot", owner="team-wanted")
        make_key("other-bot", owner="team-other")
        term = {"name": "wanted-bot", "prefix": wanted[:12], "owner": "team-wanted"}[by]
        response = staff.get(changelist_url(ClientKey), {"q": term})
        assert [k.name for k in response.context["cl"].result_list] == ["wanted-bot"]


class TestCreate:
    def test_the_key_is_shown_once_and_only_its_digest_is_stored(self, staff, capabilities):
        """Issue 10 point 1: creating a key shows it once, on the answer to the save; it is
        stored nowhere (no column, no session, no admin log), and never shown again."""
        response = create(
            staff,
            name="ci-bot",
            owner="team-a",
            **{"grants-0-capability": "shipyard-fleet", "grants-0-target": "get-ship"},
        )

        assert response.status_code == 200, page_text(response)[:3000]
        text = page_text(response)
        shown = KEY.findall(text)
        assert shown, text[:3000]
        key = shown[0]
        assert set(shown) == {key}
        assert "shown once" in text
        row = ClientKey.objects.get(name="ci-bot")
        assert (row.prefix, row.digest) == (key[:12], clients.digest(key))
        assert [str(g) for g in row.grants.all()] == ["shipyard-fleet:get-ship"]
        assert keytable.find_client(key).grants.allows("shipyard-fleet", "get-ship")
        assert "no-store" in response["Cache-Control"]

        assert table_rows_holding(key) == []  # sessions and the admin log included
        assert all(key not in entry.change_message for entry in LogEntry.objects.all())
        for url in (change_url(row), changelist_url(ClientKey)):
            again = page_text(staff.get(url))
            assert key not in again and row.digest not in again
            assert row.prefix in again

    def test_every_save_button_shows_the_key(self, staff):
        """Issue 10 point 1: "Save and add another" and "Save and continue" show it too
        (it can never be shown later)."""
        for button in ("_addanother", "_continue"):
            data = add_form(staff, name=f"bot{button}")
            del data["_save"]
            data[button] = ["Save"]
            response = staff.post(ADD_URL, data)
            assert response.status_code == 200
            assert len(set(KEY.findall(page_text(response)))) == 1

    @pytest.mark.parametrize(
        ("capability", "target", "message"),
        [
            ("shipyard-flet", "", "no capability 'shipyard-flet' (did you mean 'shipyard-fleet'?)"),
            ("shipyard-fleet", "sink-ship", "'sink-ship' is not an exposed REST operation"),
            ("resources-prompts", "query-db", "consumed operation"),
        ],
    )
    def test_a_bad_grant_is_refused_on_the_form(
        self, staff, capabilities, capability, target, message
    ):
        """Issue 10 point 1: the same grant check as the command; nothing written."""
        state = database_state()
        response = create(
            staff,
            name="ci-bot",
            **{"grants-0-capability": capability, "grants-0-target": target},
        )
        assert response.status_code == 200
        text = page_text(response)
        assert message in text
        assert not KEY.search(text)
        assert database_state() == state

    def test_the_digest_and_prefix_are_not_editable(self, staff):
        make_key("ci-bot")
        row = ClientKey.objects.get(name="ci-bot")
        fields = form_fields(staff.get(change_url(row)).content.decode())
        assert "digest" not in fields and "prefix" not in fields
        assert not any(name.startswith("revoked") for name in fields)


class TestRevoke:
    def test_the_revoke_action(self, staff, api, upstream, keys_required, monkeypatch):
        """Issue 10 point 1: "Revoke selected keys" revokes; those keys get 401 at once."""
        monkeypatch.setenv("FLEET_TOKEN", "fleet-token")
        load(SHIPYARD, base_uri=upstream.url)
        first = make_key("first-bot", "shipyard-fleet")
        second = make_key("second-bot", "shipyard-fleet")
        kept = make_key("kept-bot", "shipyard-fleet")
        revoke("second-bot")
        headers = {"HTTP_AUTHORIZATION": f"Bearer {first}"}
        assert api.get("/rest/fleet-api/ships", **headers).status_code == 200

        selected = ClientKey.objects.filter(name__in=["first-bot", "second-bot"])
        response = staff.post(
            changelist_url(ClientKey),
            {
                "action": "revoke_selected",
                "_selected_action": [str(k.pk) for k in selected],
            },
            follow=True,
        )

        assert response.status_code == 200
        assert "Revoked 1 key (1 was already revoked)." in page_text(response)
        assert ClientKey.objects.get(name="first-bot").revoked_at is not None
        assert ClientKey.objects.get(name="kept-bot").revoked_at is None
        assert api.get("/rest/fleet-api/ships", **headers).status_code == 401
        for key in (second, kept):
            assert key[:12] in page_text(response)

    def test_the_revoke_button_on_the_change_page(self, staff):
        """Issue 10 point 1: the change page has a revoke button; it posts (CSRF-checked)
        to the revoke view, which calls ``clients.revoke``."""
        make_key("ci-bot")
        row = ClientKey.objects.get(name="ci-bot")
        revoke_url = reverse("admin:capabilities_app_clientkey_revoke", args=[row.pk])
        page = page_text(staff.get(change_url(row)))
        assert f'formaction="{revoke_url}"' in page
        assert staff.get(revoke_url).status_code == 405  # never by a link

        data = form_fields(staff.get(change_url(row)).content.decode())
        response = staff.post(revoke_url, data, follow=True)

        assert response.redirect_chain[-1][0] == change_url(row)
        assert f"The client key ci-bot ({row.prefix}…) was revoked." in page_text(response)
        row.refresh_from_db()
        assert row.revoked_at is not None
        assert 'formaction="' not in page_text(response)  # nothing left to revoke
        again = staff.post(revoke_url, data, follow=True)
        assert f"The client key ci-bot ({row.prefix}…) was already revoked." in page_text(again)

    def test_the_revoke_view_needs_the_change_permission(self, client, django_user_model):
        make_key("ci-bot")
        row = ClientKey.objects.get(name="ci-bot")
        viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
        client.force_login(viewer)
        revoke_url = reverse("admin:capabilities_app_clientkey_revoke", args=[row.pk])
        assert client.post(revoke_url).status_code == 403
        assert ClientKey.objects.get(name="ci-bot").revoked_at is None


class TestRegrant:
    def test_a_grant_added_inline_is_used_from_the_next_call(self, staff, capabilities):
        """Issue 10 point 1: re-granting is editing the grants inline."""
        secret = make_key("ci-bot", "shipyard-fleet:get-ship")
        row = ClientKey.objects.get(name="ci-bot")
        assert not keytable.find_client(secret).grants.allows("shipyard-fleet", "list-ships")

        data = form_fields(staff.get(change_url(row)).content.decode())
        data["grants-TOTAL_FORMS"] = [str(int(data["grants-TOTAL_FORMS"][0]) + 1)]
        data.update(
            {
                "grants-1-capability": ["shipyard-fleet"],
                "grants-1-target": ["list-ships"],
                "grants-1-rate_limit": ["10/minute"],
                "grants-1-key": [str(row.pk)],
                "_save": ["Save"],
            }
        )
        response = staff.post(change_url(row), data)

        assert response.status_code == 302, page_text(response)[:3000]
        assert keytable.find_client(secret).grants.allows("shipyard-fleet", "list-ships")
        assert ClientGrant.objects.get(key=row, target="list-ships").rate_limit == "10/minute"

    def test_a_bad_grant_inline_is_refused(self, staff, capabilities):
        make_key("ci-bot", "shipyard-fleet:get-ship")
        row = ClientKey.objects.get(name="ci-bot")
        state = database_state()
        data = form_fields(staff.get(change_url(row)).content.decode())
        data["grants-0-target"] = ["sink-ship"]
        data["_save"] = ["Save"]
        response = staff.post(change_url(row), data)
        assert response.status_code == 200
        assert "'sink-ship' is not an exposed REST operation" in page_text(response)
        assert database_state() == state
