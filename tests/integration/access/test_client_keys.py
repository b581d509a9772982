"""Client keys with the database: what is stored, lookups from memory, last use, grants.

The domain functions the commands and the admin call (``clients.create_key``,
``check_grant``, ``revoke``, ``reissue_key``), and the table in memory every request
reads (``keytable.find_client``).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from capabilities_app.access import clients, keytable
from capabilities_app.core.errors import InvalidGrant, KeyNotAccepted
from capabilities_app.store.models import Capability, ClientGrant, ClientKey, RegistryState
from tests.conftest import CORPUS, SHIPYARD, database_state
from tests.integration.rest.conftest import load
from tests.support.keys import expire, make_key, revoke

pytestmark = pytest.mark.django_db

# An MCP expose with a tool, resources and prompts, and a consumed operation of another name.
RESOURCES_PROMPTS = CORPUS / "naftiko__framework" / "mcp-resources-prompts-capability.yaml"


@pytest.fixture
def warm(settings):
    """The stamp is read once and then trusted, as between two checks in production."""
    settings.REGISTRY_CATALOG_CHECK_SECONDS = 3600
    settings.REGISTRY_CLIENT_KEY_TOUCH_SECONDS = 3600


@pytest.fixture
def fresh(settings):
    """Every lookup reads the stamp (the tests' check interval of 0)."""
    settings.REGISTRY_CATALOG_CHECK_SECONDS = 0


def columns_holding(value: str) -> list[str]:
    """The models whose rows hold ``value`` in some column (as text)."""
    return [model for model, rows in database_state().items() if value in repr(rows)]


def table_rows_holding(value: str) -> list[str]:
    """Every table of the database (Django's own too) with a row holding ``value``."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            if any(value in repr(row) for row in cursor.fetchall()):
                found.append(table)
    return found


class TestWhatIsStored:
    def test_only_the_prefix_and_the_digest_are_stored(self):
        """Issue 10 point 1: no column holds the key; the row has its prefix and its HMAC."""
        made = clients.create_key("ci", check=False)
        row = ClientKey.objects.get(name="ci")
        assert row.prefix == made.secret[:12]
        assert row.digest == clients.digest(made.secret)
        assert table_rows_holding(made.secret) == []
        secret_part = made.secret[13:]
        assert table_rows_holding(secret_part) == []

    def test_the_made_key_is_only_in_the_result(self):
        """Issue 10 point 1: the row does not carry the secret, even in memory."""
        made = clients.create_key("ci", check=False)
        assert made.secret not in repr(vars(made.key))


class TestLookup:
    def test_a_key_finds_its_client_and_grants(self):
        secret = make_key("ci", "shipyard-fleet:get-ship")
        client = keytable.find_client(secret)
        assert client.name == "ci"
        assert client.kind == "key"
        assert client.id == f"key:{ClientKey.objects.get(name='ci').pk}"
        assert client.grants.allows("shipyard-fleet", "get-ship")
        assert not client.grants.allows("shipyard-fleet", "list-ships")

    def test_an_unknown_key_is_401_and_the_detail_does_not_echo_it(self):
        """Issue 10 point 1: unknown → 401 ``invalid_client_key``; the key appears nowhere."""
        make_key("ci")
        unknown, _ = clients.new_key()
        with pytest.raises(KeyNotAccepted) as raised:
            keytable.find_client(unknown)
        assert raised.value.status == 401
        assert raised.value.code == "invalid_client_key"
        assert unknown[:12] not in raised.value.detail
        assert unknown not in str(raised.value)

    def test_a_known_prefix_with_another_secret_is_unknown(self):
        """Issue 10 point 1: the prefix finds the row; only the digest proves the key."""
        secret = make_key("ci")
        forged = secret[:13] + ("A" if secret[13] != "A" else "B") + secret[14:]
        with pytest.raises(KeyNotAccepted) as raised:
            keytable.find_client(forged)
        assert "not known" in raised.value.detail
        assert secret[:12] not in raised.value.detail  # says nothing of the real key

    def test_a_revoked_key_is_401_naming_only_its_prefix(self, fresh):
        """Issue 10 point 1: revoked → 401, the detail names the prefix, not the key."""
        secret = make_key("ci")
        revoke("ci")
        with pytest.raises(KeyNotAccepted) as raised:
            keytable.find_client(secret)
        assert raised.value.status == 401
        assert raised.value.detail == f"the client key {secret[:12]}… was revoked"
        assert secret[12:] not in raised.value.detail

    def test_an_expired_key_is_401_naming_only_its_prefix(self, fresh):
        """Issue 10 point 1: expired → 401, the detail names the prefix, not the key."""
        secret = make_key("ci")
        expire("ci")
        with pytest.raises(KeyNotAccepted) as raised:
            keytable.find_client(secret)
        assert raised.value.detail == f"the client key {secret[:12]}… expired"
        assert secret[12:] not in raised.value.detail


class TestTableInMemory:
    def test_a_warm_lookup_reads_no_database(self, warm, django_assert_num_queries):
        """Issue 10 budget: a warm request finds its key in memory: no query at all."""
        secret = make_key("ci", "shipyard-fleet")
        keytable.find_client(secret)  # cold: reads the stamp, the table, writes last use
        with django_assert_num_queries(0):
            for _ in range(100):
                keytable.find_client(secret)

    def test_a_revocation_moves_the_stamp_and_the_table_reloads(self, fresh):
        """Issue 10 point 1: revoking moves the clients stamp; the next lookup refuses."""
        secret = make_key("ci")
        assert keytable.find_client(secret).name == "ci"
        before = RegistryState.objects.get(pk=1).clients_version
        revoke("ci")
        assert RegistryState.objects.get(pk=1).clients_version > before
        with pytest.raises(KeyNotAccepted, match="revoked"):
            keytable.find_client(secret)

    def test_a_new_grant_is_seen_on_the_next_lookup(self, fresh):
        """Issue 10 point 1: re-granting (a grant row added) reaches the table in memory."""
        secret = make_key("ci", "shipyard-fleet:get-ship")
        assert not keytable.find_client(secret).grants.allows("shipyard-fleet", "list-ships")
        ClientGrant.objects.create(
            key=ClientKey.objects.get(name="ci"), capability="shipyard-fleet", target="list-ships"
        )
        assert keytable.find_client(secret).grants.allows("shipyard-fleet", "list-ships")

    def test_a_deleted_grant_is_gone_on_the_next_lookup(self, fresh):
        secret = make_key("ci", "shipyard-fleet")
        ClientGrant.objects.filter(key__name="ci").delete()
        assert not keytable.find_client(secret).grants.touches("shipyard-fleet")

    def test_between_checks_the_table_is_kept(self, warm):
        """Issue 10 point 1: within the check interval a change is not seen yet (the
        catalog's rule): the table is what the stamp last said."""
        secret = make_key("ci")
        keytable.find_client(secret)
        revoke("ci")
        assert keytable.find_client(secret).name == "ci"  # not re-read yet

    def test_a_deleted_key_is_unknown(self, fresh):
        secret = make_key("ci")
        keytable.find_client(secret)
        ClientKey.objects.filter(name="ci").delete()
        with pytest.raises(KeyNotAccepted, match="not known"):
            keytable.find_client(secret)


class TestLastUse:
    def test_the_first_use_is_recorded(self, warm):
        secret = make_key("ci")
        assert ClientKey.objects.get(name="ci").last_used_at is None
        keytable.find_client(secret)
        assert ClientKey.objects.get(name="ci").last_used_at is not None

    def test_last_use_is_written_at_most_once_per_interval(self, warm, django_assert_num_queries):
        """Issue 10 point 1: one UPDATE per key per interval, however many calls."""
        secret = make_key("ci")
        keytable.find_client(secret)
        ClientKey.objects.filter(name="ci").update(last_used_at=None)
        for _ in range(20):
            keytable.find_client(secret)
        assert ClientKey.objects.get(name="ci").last_used_at is None  # not written again

    def test_after_the_interval_it_is_written_again(self, settings):
        settings.REGISTRY_CATALOG_CHECK_SECONDS = 3600
        settings.REGISTRY_CLIENT_KEY_TOUCH_SECONDS = 0
        secret = make_key("ci")
        keytable.find_client(secret)
        ClientKey.objects.filter(name="ci").update(last_used_at=None)
        keytable.find_client(secret)
        assert ClientKey.objects.get(name="ci").last_used_at is not None

    def test_recording_last_use_does_not_move_the_stamp(self, settings):
        """Issue 10 point 1: a use is no change: every process keeps its table."""
        settings.REGISTRY_CLIENT_KEY_TOUCH_SECONDS = 0
        secret = make_key("ci")
        before = RegistryState.objects.get(pk=1).clients_version
        for _ in range(3):
            keytable.find_client(secret)
        assert RegistryState.objects.get(pk=1).clients_version == before


class TestCheckGrant:
    @pytest.fixture
    def capabilities(self):
        load(SHIPYARD)
        load(RESOURCES_PROMPTS, name="resources-prompts")

    @pytest.mark.parametrize(
        ("capability", "target"),
        [
            ("shipyard-fleet", ""),
            ("shipyard-fleet", "list-ships"),  # a REST operation and a tool of that name
            ("shipyard-fleet", "get-ship"),
            ("resources-prompts", "query-database"),  # an MCP tool
            ("resources-prompts", "database-schema"),  # an MCP resource
            ("resources-prompts", "participant-outreach"),  # an MCP prompt
        ],
    )
    def test_exposed_names_are_accepted(self, capabilities, capability, target):
        """Issue 10 point 1: a grant names an exposed REST operation, MCP tool, resource
        or prompt of the capability, or the capability alone."""
        clients.check_grant(capability, target)

    def test_an_unknown_capability_is_refused_with_the_nearest_name(self, capabilities):
        with pytest.raises(InvalidGrant) as raised:
            clients.check_grant("shipyard-flet", "")
        assert "no capability 'shipyard-flet'" in raised.value.detail
        assert "did you mean 'shipyard-fleet'" in raised.value.detail

    def test_an_unknown_target_is_refused_naming_what_can_be_granted(self, capabilities):
        with pytest.raises(InvalidGrant) as raised:
            clients.check_grant("shipyard-fleet", "sink-ship")
        detail = raised.value.detail
        assert "'sink-ship' is not an exposed REST operation, MCP tool, resource or prompt" in (
            detail
        )
        assert "get-ship, list-ships" in detail

    def test_a_consumed_operation_is_refused_with_a_hint(self, capabilities):
        """Issue 10 point 1: a grant names what the client calls, never the consumed
        operation behind it."""
        with pytest.raises(InvalidGrant) as raised:
            clients.check_grant("resources-prompts", "query-db")
        assert "consumed operation" in raised.value.detail
        assert "query-database" in raised.value.detail  # what can be granted instead

    def test_a_disabled_capability_can_be_granted(self, capabilities):
        """Issue 10 point 1: granting ahead of enabling is allowed (it is still there)."""
        Capability.objects.filter(name="shipyard-fleet").update(enabled=False)
        clients.check_grant("shipyard-fleet", "get-ship")


class TestCreateKey:
    def test_a_bad_grant_writes_nothing(self):
        """Issue 10 point 1: one bad grant, and neither the key nor any grant is written."""
        load(SHIPYARD)
        state = database_state()
        with pytest.raises(InvalidGrant):
            clients.create_key("ci", grants=["shipyard-fleet", "shipyard-fleet:nope"])
        assert database_state() == state

    def test_the_grants_are_written(self):
        load(SHIPYARD)
        made = clients.create_key("ci", grants=["shipyard-fleet:get-ship", "shipyard-fleet"])
        assert sorted(str(g) for g in made.key.grants.all()) == [
            "shipyard-fleet",
            "shipyard-fleet:get-ship",
        ]

    def test_expiry_in_days(self):
        made = clients.create_key("ci", expires_in_days=30, check=False)
        expected = timezone.now() + dt.timedelta(days=30)
        assert abs((made.key.expires_at - expected).total_seconds()) < 60


class TestRevoke:
    def test_revoking_twice_says_it_was_revoked(self):
        make_key("ci")
        key = ClientKey.objects.get(name="ci")
        assert clients.revoke(key) is True
        first = ClientKey.objects.get(name="ci").revoked_at
        assert clients.revoke(ClientKey.objects.get(name="ci")) is False
        assert ClientKey.objects.get(name="ci").revoked_at == first

    def test_find_key_by_name_prefix_or_whole_key(self):
        secret = make_key("ci")
        key = ClientKey.objects.get(name="ci")
        assert clients.find_key("ci") == key
        assert clients.find_key(secret[:12]) == key
        assert clients.find_key(secret) == key
        assert clients.find_key("crk_00000000") is None
        assert clients.find_key("nobody") is None


class TestStatusFilter:
    def test_keys_by_status(self):
        for name in ("a", "r", "e"):
            make_key(name)
        revoke("r")
        expire("e")
        keys = ClientKey.objects.all()
        assert [k.name for k in clients.with_status(keys, "active")] == ["a"]
        assert [k.name for k in clients.with_status(keys, "revoked")] == ["r"]
        assert [k.name for k in clients.with_status(keys, "expired")] == ["e"]


class TestReissue:
    def test_a_missing_key_is_made_with_its_grants(self):
        load(SHIPYARD)
        made = clients.reissue_key("demo", grants=["shipyard-fleet"])
        assert keytable.find_client(made.secret).grants.touches("shipyard-fleet")

    def test_reissuing_replaces_the_secret(self, fresh):
        """Issue 10 point 2: the demo key is rotated on every ``make demo``: the old one
        stops, the new one works."""
        load(SHIPYARD)
        first = clients.reissue_key("demo", grants=["shipyard-fleet"]).secret
        second = clients.reissue_key("demo", grants=["shipyard-fleet"]).secret
        assert first != second
        assert keytable.find_client(second).name == "demo"
        with pytest.raises(KeyNotAccepted):
            keytable.find_client(first)
        assert ClientKey.objects.filter(name="demo").count() == 1

    def test_a_given_secret_is_kept(self, fresh):
        """Issue 10 point 2: ``DEMO_CLIENT_KEY`` fixes the demo key across runs."""
        load(SHIPYARD)
        given, _ = clients.new_key()
        for _ in range(2):
            made = clients.reissue_key("demo", grants=["shipyard-fleet"], secret=given)
            assert made.secret == given
        assert keytable.find_client(given).name == "demo"
        assert table_rows_holding(given) == []

    def test_reissuing_revives_a_revoked_or_expired_key_and_sets_its_grants(self, fresh):
        load(SHIPYARD)
        load(RESOURCES_PROMPTS, name="resources-prompts")
        clients.reissue_key("demo", grants=["shipyard-fleet:get-ship"])
        revoke("demo")
        expire("demo")
        made = clients.reissue_key("demo", grants=["shipyard-fleet", "resources-prompts"])
        client = keytable.find_client(made.secret)
        assert client.grants.whole == {"shipyard-fleet", "resources-prompts"}
        assert client.grants.targets == frozenset()
