"""Client keys without a database: their format, their digest, grants, and a key's status.

What needs the database (the table in memory, lookups, last use, making and revoking
keys) is in ``tests/integration/access/test_client_keys.py``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

import pytest
from django.utils import timezone

from capabilities_app.access import clients
from capabilities_app.core.errors import InvalidGrant, InvalidKey
from capabilities_app.store.models import ClientKey

KEY_FORMAT = re.compile(r"crk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


class TestKeyFormat:
    def test_a_key_is_crk_eight_hex_and_43_urlsafe_characters(self):
        """Issue 10 point 1: a key reads ``crk_<8 hex>_<43 urlsafe>`` (256 random bits)."""
        key, _ = clients.new_key()
        assert KEY_FORMAT.fullmatch(key), key
        assert clients.looks_like_key(key)

    def test_the_prefix_is_the_visible_start_of_the_key(self):
        """Issue 10 point 1: the prefix (stored, shown) is the key's first 12 characters."""
        key, prefix = clients.new_key()
        assert prefix == key[: clients.PREFIX_LENGTH]
        assert len(prefix) == clients.PREFIX_LENGTH == 12
        assert re.fullmatch(r"crk_[0-9a-f]{8}", prefix)

    def test_keys_and_prefixes_are_random(self):
        """Issue 10 point 1: no two keys (nor, in practice, two prefixes) are alike."""
        made = [clients.new_key() for _ in range(200)]
        assert len({key for key, _ in made}) == 200
        assert len({prefix for _, prefix in made}) == 200

    @pytest.mark.parametrize(
        "value",
        ["", "crk_", "crk_1234abcd", "sk_live_1234abcd_xxxxxxxx", "Bearer crk_1234abcd_x"],
    )
    def test_what_is_not_a_key(self, value):
        """Issue 10 point 1: a prefix alone, or another scheme's token, is not a key."""
        assert not clients.looks_like_key(value)


class TestDigest:
    def test_the_digest_is_an_hmac_sha256_keyed_by_the_setting(self, settings):
        """Issue 10 point 1: only a keyed hash of the key is stored (HMAC-SHA256 with
        ``REGISTRY_CLIENT_KEY_SECRET``)."""
        settings.REGISTRY_CLIENT_KEY_SECRET = "hash-secret-one"
        key, _ = clients.new_key()
        expected = hmac.new(b"hash-secret-one", key.encode(), hashlib.sha256).hexdigest()
        assert clients.digest(key) == expected
        assert len(clients.digest(key)) == 64

    def test_another_hashing_secret_gives_another_digest(self, settings):
        """Issue 10 point 1: a digest is worthless without the secret it was made with."""
        key, _ = clients.new_key()
        settings.REGISTRY_CLIENT_KEY_SECRET = "hash-secret-one"
        first = clients.digest(key)
        settings.REGISTRY_CLIENT_KEY_SECRET = "hash-secret-two"
        assert clients.digest(key) != first

    def test_the_digest_holds_nothing_of_the_key(self):
        """Issue 10 point 1: not even the random part's start is readable in the digest."""
        key, prefix = clients.new_key()
        assert key[len(prefix) + 1 :][:8] not in clients.digest(key)


class TestGrants:
    def test_a_whole_capability_allows_every_name_in_it(self):
        """Issue 10 point 1: a grant without a target covers the whole capability."""
        grants = clients.Grants.parse(["shipyard-fleet"])
        assert grants.allows("shipyard-fleet", "list-ships")
        assert grants.allows("shipyard-fleet", "")  # a forward route, an unnamed operation
        assert not grants.allows("prefect-account-billing", "list-ships")

    def test_a_target_allows_that_name_only(self):
        """Issue 10 point 1: ``CAPABILITY:NAME`` covers that exposed name and nothing else."""
        grants = clients.Grants.parse(["shipyard-fleet:get-ship"])
        assert grants.allows("shipyard-fleet", "get-ship")
        assert not grants.allows("shipyard-fleet", "list-ships")
        assert not grants.allows("shipyard-fleet", "")  # a forward needs the whole capability
        assert grants.touches("shipyard-fleet")
        assert not grants.touches("netbird-checkout")

    def test_the_summary_names_every_grant(self):
        grants = clients.Grants.parse(["b-cap", "a-cap:tool"])
        assert str(grants) == "b-cap a-cap:tool"
        assert str(clients.Grants()) == "(nothing)"

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("shipyard-fleet", ("shipyard-fleet", "")),
            ("shipyard-fleet:get-ship", ("shipyard-fleet", "get-ship")),
            (" shipyard-fleet:get-ship ", ("shipyard-fleet", "get-ship")),
        ],
    )
    def test_a_grant_is_parsed_as_capability_and_target(self, text, expected):
        assert clients.parse_grant(text) == expected

    @pytest.mark.parametrize("text", ["", ":get-ship", "  "])
    def test_a_grant_without_a_capability_is_refused(self, text):
        """Issue 10 point 1: a grant names a capability first."""
        with pytest.raises(InvalidGrant, match="CAPABILITY"):
            clients.parse_grant(text)


class TestStatus:
    NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)

    def key(self, **fields) -> ClientKey:
        return ClientKey(name="k", prefix="crk_00000000", digest="0" * 64, **fields)

    def test_a_key_is_active_until_it_expires_or_is_revoked(self):
        """Issue 10 point 1: the status the admin lists and filters by."""
        assert clients.status_of(self.key(), now=self.NOW) == "active"
        later = self.NOW + dt.timedelta(days=1)
        assert clients.status_of(self.key(expires_at=later), now=self.NOW) == "active"
        assert clients.status_of(self.key(expires_at=self.NOW), now=self.NOW) == "expired"
        assert clients.status_of(self.key(revoked_at=self.NOW), now=self.NOW) == "revoked"

    def test_revoked_wins_over_expired(self):
        """Issue 10 point 1: a revoked key says so even after its expiry passed."""
        earlier = self.NOW - dt.timedelta(days=1)
        key = self.key(expires_at=earlier, revoked_at=earlier)
        assert clients.status_of(key, now=self.NOW) == "revoked"

    def test_now_is_the_default(self):
        key = self.key(expires_at=timezone.now() - dt.timedelta(seconds=1))
        assert clients.status_of(key) == "expired"


class TestDemoSecret:
    def test_a_fixed_demo_key_must_look_like_a_key(self):
        """Issue 10 point 2: ``DEMO_CLIENT_KEY`` is refused unless it has a key's form
        (its prefix is how it is found)."""
        key, _ = clients.new_key()
        clients.check_secret(key)
        for bad in (
            "demo",
            "crk_demo_key",
            "crk_1234abcd_short",
            f"{key} ",
            "crk_1234ABCD_" + "x" * 43,
        ):
            with pytest.raises(InvalidKey):
                clients.check_secret(bad)
