"""The client key commands: create (the key printed once), revoke, list, the demo key."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from capabilities_app.access import clients, keytable
from capabilities_app.core.errors import KeyNotAccepted
from capabilities_app.store.models import ClientKey
from tests.conftest import CORPUS, NETBIRD, PREFECT, SHIPYARD, database_state, run_command
from tests.integration.access.test_client_keys import table_rows_holding
from tests.integration.rest.conftest import load
from tests.support.keys import make_key, revoke

pytestmark = pytest.mark.django_db

# An MCP expose with a tool, resources and prompts, and a consumed operation of another name.
RESOURCES_PROMPTS = CORPUS / "naftiko__framework" / "mcp-resources-prompts-capability.yaml"


@pytest.fixture
def api(settings) -> Client:
    """A client of the REST surface."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "testserver"]
    return Client(HTTP_HOST="127.0.0.1")


KEY_LINE = re.compile(r"crk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}\n")


def bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


class TestCreate:
    def test_the_key_is_alone_on_stdout_and_the_rest_on_stderr(self):
        """Issue 10 point 1: stdout is the key and nothing else (``KEY=$(...)``); what it
        grants, its expiry and its limit are on stderr."""
        load(SHIPYARD)
        result = run_command(
            "create_client_key",
            "ci-bot",
            "--grant",
            "shipyard-fleet:get-ship",
            "--grant",
            "shipyard-fleet:list-ships",
            "--expires",
            "30",
            "--owner",
            "platform team",
            "--description",
            "The CI pipeline",
            "--rate-limit",
            "60/minute",
        )
        assert result.code == 0, result.stderr
        assert KEY_LINE.fullmatch(result.stdout), result.stdout
        key = result.stdout.strip()
        assert key not in result.stderr
        row = ClientKey.objects.get(name="ci-bot")
        assert f"created client key ci-bot ({row.prefix}…)" in result.stderr
        assert "grants: shipyard-fleet:get-ship, shipyard-fleet:list-ships" in result.stderr
        assert f"expires: {row.expires_at:%Y-%m-%d %H:%M} UTC (in 30 days)" in result.stderr
        assert "rate limit: 60/minute" in result.stderr
        assert "shown once" in result.stderr
        assert (row.owner, row.description, row.rate_limit) == (
            "platform team",
            "The CI pipeline",
            "60/minute",
        )
        expected = timezone.now() + dt.timedelta(days=30)
        assert abs((row.expires_at - expected).total_seconds()) < 60

    def test_only_the_digest_of_the_printed_key_is_stored(self):
        """Issue 10 point 1: no column holds the key the command printed."""
        result = run_command("create_client_key", "ci-bot")
        key = result.stdout.strip()
        row = ClientKey.objects.get(name="ci-bot")
        assert (row.prefix, row.digest) == (key[:12], clients.digest(key))
        assert table_rows_holding(key) == []

    def test_defaults_say_never_and_the_default_limit(self, settings):
        settings.REGISTRY_RATE_LIMIT = "600/minute"
        result = run_command("create_client_key", "ci-bot")
        assert result.code == 0, result.stderr
        assert "grants: none (this key may call nothing yet)" in result.stderr
        assert "expires: never" in result.stderr
        assert "rate limit: REGISTRY_RATE_LIMIT (600/minute)" in result.stderr

    def test_the_printed_key_calls_what_it_grants(self, api, upstream, keys_required, monkeypatch):
        """Issue 10 point 1: the printed key works on ``/rest/``, for its grants only."""
        monkeypatch.setenv("FLEET_TOKEN", "fleet-token")
        upstream.answer("GET", "/ships/IMO1", _ship())
        load(SHIPYARD, base_uri=upstream.url)
        result = run_command("create_client_key", "ci-bot", "--grant", "shipyard-fleet:get-ship")
        key = result.stdout.strip()

        assert api.get("/rest/fleet-api/ships/IMO1", **bearer(key)).status_code == 200
        assert api.get("/rest/fleet-api/ships/IMO1", HTTP_X_API_KEY=key).status_code == 200
        refused = api.get("/rest/fleet-api/ships", **bearer(key))
        assert refused.status_code == 403
        assert refused.json()["code"] == "not_granted"
        assert api.get("/rest/fleet-api/ships/IMO1").status_code == 401

    @pytest.mark.parametrize(
        ("grant", "message"),
        [
            ("shipyard-flet", "no capability 'shipyard-flet' (did you mean 'shipyard-fleet'?)"),
            ("shipyard-fleet:sink-ship", "'sink-ship' is not an exposed REST operation"),
            ("resources-prompts:query-db", "consumed operation"),
            (":get-ship", "a grant is CAPABILITY or CAPABILITY:OPERATION_OR_TOOL"),
        ],
    )
    def test_a_bad_grant_is_refused_and_nothing_written(self, grant, message):
        """Issue 10 point 1: a grant naming no capability, or no exposed name of it, is
        refused (exit 1) and nothing is written, the good grants before it included."""
        load(SHIPYARD)
        load(RESOURCES_PROMPTS, name="resources-prompts")
        state = database_state()
        result = run_command(
            "create_client_key", "ci-bot", "--grant", "shipyard-fleet", "--grant", grant
        )
        assert result.code == 1
        assert result.stdout == ""
        assert message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert database_state() == state

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--rate-limit", "lots"], "rate_limit: A rate is N/second"),
            (["--expires", "0"], "--expires: a number of days above 0"),
            (["--expires", "-3"], "--expires: a number of days above 0"),
        ],
    )
    def test_bad_options_are_refused(self, args, message):
        state = database_state()
        result = run_command("create_client_key", "ci-bot", *args)
        assert result.code != 0
        assert message in result.stderr, result.stderr
        assert database_state() == state

    def test_a_name_in_use_is_refused(self):
        make_key("ci-bot")
        state = database_state()
        result = run_command("create_client_key", "ci-bot")
        assert result.code == 1
        assert "name: Client key with this Name already exists." in result.stderr
        assert database_state() == state


class TestRevoke:
    def test_revoke_by_name(self, api, upstream, keys_required, monkeypatch):
        """Issue 10 point 1: a revoked key is refused (401) from the next call on."""
        monkeypatch.setenv("FLEET_TOKEN", "fleet-token")
        load(SHIPYARD, base_uri=upstream.url)
        key = make_key("ci-bot", "shipyard-fleet")
        assert api.get("/rest/fleet-api/ships", **bearer(key)).status_code == 200

        result = run_command("revoke_client_key", "ci-bot")

        assert result.code == 0, result.stderr
        assert result.stdout == f"revoked ci-bot ({key[:12]}…)\n"
        refused = api.get("/rest/fleet-api/ships", **bearer(key))
        assert refused.status_code == 401
        assert refused.json()["detail"] == f"the client key {key[:12]}… was revoked"

    @pytest.mark.parametrize("given", ["prefix", "whole key", "prefix and ellipsis"])
    def test_revoke_by_prefix(self, given):
        key = make_key("ci-bot")
        argument = {
            "prefix": key[:12],
            "whole key": key,
            "prefix and ellipsis": key[:12] + "…",
        }[given]
        result = run_command("revoke_client_key", argument)
        assert result.code == 0, result.stderr
        assert ClientKey.objects.get(name="ci-bot").revoked_at is not None

    def test_revoking_again_says_so(self):
        """Issue 10 point 1: revoking is idempotent and says the key already was."""
        key = make_key("ci-bot")
        revoke("ci-bot")
        revoked_at = ClientKey.objects.get(name="ci-bot").revoked_at
        result = run_command("revoke_client_key", "ci-bot")
        assert result.code == 0
        assert result.stdout == (
            f"ci-bot ({key[:12]}…) was already revoked on {revoked_at:%Y-%m-%d %H:%M} UTC\n"
        )
        assert ClientKey.objects.get(name="ci-bot").revoked_at == revoked_at

    def test_an_unknown_key_is_an_error(self):
        make_key("ci-bot")
        result = run_command("revoke_client_key", "cd-bot")
        assert result.code == 1
        assert "no client key named or starting with 'cd-bot'" in result.stderr


class TestList:
    def test_every_key_with_its_status_and_never_its_digest(self):
        """Issue 10 point 1: name, prefix, owner, grants, created, last used, expires,
        status; the digest is never shown."""
        load(SHIPYARD)
        active = make_key("active-bot", "shipyard-fleet:get-ship", owner="team-a")
        keytable.find_client(active)  # used once
        make_key("gone-bot", "shipyard-fleet")
        revoke("gone-bot")
        make_key("old-bot", expires_in_days=-1)

        result = run_command("list_client_keys")

        assert result.code == 0, result.stderr
        lines = result.stdout.splitlines()
        header = lines[0].split()
        assert header == [
            "NAME",
            "PREFIX",
            "STATUS",
            "OWNER",
            "CREATED",
            "LAST",
            "USED",
            "EXPIRES",
            "GRANTS",
        ]
        rows = {line.split()[0]: line for line in lines[1:]}
        assert set(rows) == {"active-bot", "gone-bot", "old-bot"}
        assert active[:12] in rows["active-bot"]
        assert " active " in rows["active-bot"]
        assert "team-a" in rows["active-bot"]
        assert rows["active-bot"].endswith("shipyard-fleet:get-ship")
        assert " revoked " in rows["gone-bot"]
        assert " expired " in rows["old-bot"]
        assert rows["old-bot"].endswith("(none)")
        for key in ClientKey.objects.all():
            assert key.digest not in result.stdout
        assert active not in result.stdout

    def test_no_keys(self):
        result = run_command("list_client_keys")
        assert result.code == 0
        assert result.stdout == "no client keys (create one: manage.py create_client_key NAME)\n"


class TestDemoKey:
    def test_the_demo_key_is_printed_alone_and_grants_every_capability(self, settings):
        """Issue 10 point 2: ``make demo`` prints a key that may call every capability."""
        settings.DEBUG = True
        for path in (SHIPYARD, PREFECT, NETBIRD):
            load(path)
        result = run_command("create_demo_client_key")
        assert result.code == 0, result.stderr
        assert KEY_LINE.fullmatch(result.stdout), result.stdout
        client = keytable.find_client(result.stdout.strip())
        assert client.name == "demo"
        assert client.grants.whole == {
            "shipyard-fleet",
            "prefect-account-billing",
            "netbird-checkout",
        }
        assert "a new key each run" in result.stderr

    def test_each_run_rotates_the_demo_key(self, settings):
        """Issue 10 point 2: the secret cannot be read back, so each run makes a new one."""
        settings.DEBUG = True
        settings.REGISTRY_CATALOG_CHECK_SECONDS = 0
        load(SHIPYARD)
        first = run_command("create_demo_client_key").stdout.strip()
        second = run_command("create_demo_client_key").stdout.strip()
        assert first != second
        assert keytable.find_client(second).name == "demo"
        with pytest.raises(KeyNotAccepted):
            keytable.find_client(first)

    def test_demo_client_key_fixes_it(self, settings, monkeypatch):
        """Issue 10 point 2: with ``DEMO_CLIENT_KEY`` set, the demo key stays the same."""
        settings.DEBUG = True
        load(SHIPYARD)
        fixed, _ = clients.new_key()
        monkeypatch.setenv("DEMO_CLIENT_KEY", fixed)
        for _ in range(2):
            result = run_command("create_demo_client_key")
            assert result.code == 0, result.stderr
            assert result.stdout == fixed + "\n"
        assert "DEMO_CLIENT_KEY" in result.stderr
        assert keytable.find_client(fixed).name == "demo"

    def test_a_demo_client_key_of_the_wrong_form_is_refused(self, settings, monkeypatch):
        settings.DEBUG = True
        monkeypatch.setenv("DEMO_CLIENT_KEY", "demo-key")
        state = database_state()
        result = run_command("create_demo_client_key")
        assert result.code == 1
        assert "DEMO_CLIENT_KEY" in result.stderr and "crk_" in result.stderr
        assert "demo-key" not in result.stderr  # a secret is not echoed, even a bad one
        assert database_state() == state

    def test_only_with_debug_on(self, settings):
        settings.DEBUG = False
        result = run_command("create_demo_client_key")
        assert result.code == 1
        assert "DEBUG=true" in result.stderr
        assert not ClientKey.objects.exists()


def _ship():
    from tests.support.upstream import Answer

    return Answer(200, {"imo_number": "IMO1", "vessel_name": "Test", "gross_tonnage": 1})
