"""Rate limits without a store: rates, fixed windows, counters and the IETF fields."""

from __future__ import annotations

import pytest

from capabilities_app.access.clients import Client, Grants
from capabilities_app.access.ratelimit import (
    Quota,
    Usage,
    counters_for,
    parse_rate,
    seconds_left,
    window_of,
)
from capabilities_app.access.ratestores import Rate
from capabilities_app.core.errors import InvalidRate, RateLimited


def client(rate_limit: str = "", limits=(), id: str = "key:7") -> Client:
    return Client(
        id=id,
        name="alice",
        grants=Grants(whole=frozenset({"fleet"}), limits=tuple(limits)),
        rate_limit=rate_limit,
    )


class TestRates:
    @pytest.mark.parametrize(
        ("text", "limit", "seconds"),
        [
            ("600/minute", 600, 60),
            ("1/second", 1, 1),
            ("24/hour", 24, 3600),
            ("10000/day", 10000, 86400),
            (" 5 / Minute ", 5, 60),
        ],
    )
    def test_a_rate_is_a_count_per_period(self, text, limit, seconds):
        """Issue 10 point 5: N/second|minute|hour|day."""
        rate = parse_rate(text)
        assert (rate.limit, rate.seconds) == (limit, seconds)

    def test_off_is_no_rate(self):
        """Issue 10 point 5: REGISTRY_RATE_LIMIT=off (or a key's "off") limits nothing."""
        assert parse_rate("off") is None
        assert parse_rate("OFF") is None

    @pytest.mark.parametrize(
        "text", ["", "600", "0/minute", "-1/minute", "600/week", "ten/minute", "600/minutes"]
    )
    def test_anything_else_is_refused(self, text):
        """Issue 10 point 5: a malformed rate is an error, never silently no limit."""
        with pytest.raises(InvalidRate):
            parse_rate(text)

    def test_a_rate_string_is_parsed_once(self):
        """Issue 10 point 5: rates are cached by their string."""
        assert parse_rate("77/hour") is parse_rate("77/hour")


class TestWindows:
    def test_windows_are_fixed_and_aligned_to_the_epoch(self):
        """Issue 10 point 5 (docs/access.md): a minute window starts at :00, a day at
        midnight UTC."""
        assert window_of(125.3, 60) == (120, 180)
        assert window_of(120.0, 60) == (120, 180)
        assert window_of(179.999, 60) == (120, 180)
        day = 86400
        assert window_of(3 * day + 5, day) == (3 * day, 4 * day)
        assert window_of(7.9, 1) == (7, 8)

    def test_retry_after_is_the_rest_of_the_window_rounded_up(self):
        """Issue 10 point 5: Retry-After in whole seconds, at least 1."""
        assert seconds_left(125.3, 180) == 55
        assert seconds_left(120.0, 180) == 60
        assert seconds_left(179.999, 180) == 1
        assert seconds_left(180.0, 180) == 1  # never 0: the client must wait a moment


class TestCounters:
    def test_the_default_rate_applies_without_an_override(self, settings):
        """Issue 10 point 5: REGISTRY_RATE_LIMIT for a key with no rate_limit."""
        settings.REGISTRY_RATE_LIMIT = "600/minute"
        (counter,) = counters_for(client(), "fleet", "list-ships", 125.0)
        assert (counter.policy, counter.rate.limit, counter.rate.seconds) == ("default", 600, 60)
        assert (counter.start, counter.end) == (120, 180)
        assert counter.bucket == "key:7"

    def test_a_keys_override_wins(self, settings):
        """Issue 10 point 5: the key's rate_limit overrides the default, "off" included."""
        settings.REGISTRY_RATE_LIMIT = "600/minute"
        (counter,) = counters_for(client("3/day"), "fleet", "x", 0.0)
        assert counter.rate == Rate(3, 86400, "3/day")
        assert counters_for(client("off"), "fleet", "x", 0.0) == []

    def test_a_grant_limit_adds_a_counter_for_what_it_covers(self, settings):
        """Issue 10 point 5: a grant's own rate is a second, separate counter."""
        settings.REGISTRY_RATE_LIMIT = "off"
        alice = client(limits=[(("fleet", "list-ships"), "2/second")])
        (counter,) = counters_for(alice, "fleet", "list-ships", 10.5)
        assert counter.policy == "grant"
        assert counter.bucket == "key:7|fleet:list-ships"
        assert counters_for(alice, "fleet", "add-ship", 10.5) == []
        assert counters_for(alice, "harbour", "list-ships", 10.5) == []

    def test_the_redis_keys_of_a_call_share_one_hash_slot(self, settings):
        """Issue 10 point 5: every counter of a call carries the client as a hash tag, so a
        Redis Cluster runs the one script on one node."""
        settings.REGISTRY_RATE_LIMIT = "5/minute"
        alice = client(limits=[(("fleet", ""), "9/hour")])
        own, grant = counters_for(alice, "fleet", "list-ships", 3600.0)
        assert own.key == "rl:{key:7}::60:3600"
        assert grant.key == "rl:{key:7}:fleet:3600:3600"
        assert own.expires == 3600 + 120  # one window past its end

    def test_a_long_client_id_is_hashed(self, settings):
        """Issue 10 point 5: a token's issuer and subject can be long; the bucket fits."""
        settings.REGISTRY_RATE_LIMIT = "5/minute"
        (counter,) = counters_for(client(id="token:" + "x" * 300), "fleet", "y", 0.0)
        assert counter.bucket.startswith("sha256:")
        assert len(counter.bucket) <= 255


class TestFields:
    def test_the_fields_are_structured_field_lists(self):
        """Issue 10 point 5: RateLimit-Policy and RateLimit as
        draft-ietf-httpapi-ratelimit-headers writes them."""
        quota = Quota((Usage("default", 600, 60, 1, 42), Usage("grant", 10, 3600, 10, 7)))
        assert quota.headers() == {
            "RateLimit-Policy": '"default";q=600;w=60, "grant";q=10;w=3600',
            "RateLimit": '"default";r=599;t=42, "grant";r=0;t=7',
        }

    def test_a_refusal_is_429_with_retry_after_and_the_fields(self):
        """Issue 10 point 5: the error carries what the 429 problem answers."""
        quota = Quota((Usage("default", 1, 60, 1, 30),))
        error = RateLimited("over", 30, quota.headers())
        assert (error.status, error.code, error.retry_after) == (429, "rate_limited", 30)
        assert error.headers()["RateLimit"] == '"default";r=0;t=30'


class TestSettingCheck:
    def test_a_malformed_default_rate_is_a_system_check_error(self, settings):
        """Issue 10 point 5: a wrong REGISTRY_RATE_LIMIT is said at `manage.py check`,
        not found by the first caller."""
        from capabilities_app.checks import rate_limit

        settings.REGISTRY_RATE_LIMIT = "600/week"
        (error,) = rate_limit()
        assert error.id == "capabilities_app.E005"
        assert "600/week" in error.msg
        settings.REGISTRY_RATE_LIMIT = "off"
        assert rate_limit() == []
