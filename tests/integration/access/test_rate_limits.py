"""Rate limits on the REST surface (issue 10 point 5), on both counting backends.

Every test that counts runs twice: counted in the database (no Redis configured) and in
Redis (db 2 of the local server, emptied before each test). A real upstream on
127.0.0.1 records what reaches it: a refused call must reach nothing.
"""

from __future__ import annotations

import logging
import re
import time

import pytest
import redis

from capabilities_app.access import ratestores
from capabilities_app.store.models import ClientGrant, ClientKey, RateCounter
from tests.integration.rest.conftest import load
from tests.support.keys import make_key
from tests.support.processes import free_port
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.django_db

REDIS_URL = "redis://127.0.0.1:6379/2"

DOCUMENT = """
naftiko: 1.0.0-alpha2
info: {label: Limits, description: Rate limit test.}
capability:
  consumes:
  - type: http
    namespace: up-fleet
    baseUri: https://upstream.example
    resources:
    - name: ships
      path: /ships
      operations:
      - {name: list, method: GET}
      - {name: add, method: POST}
  exposes:
  - type: rest
    namespace: fleet
    port: 8080
    resources:
    - path: /ships
      operations:
      - {name: list-ships, method: GET, call: up-fleet.list}
      - {name: add-ship, method: POST, call: up-fleet.add}
"""

POLICY = re.compile(r'^"(\w+)";q=(\d+);w=(\d+)$')
REMAINING = re.compile(r'^"(\w+)";r=(\d+);t=(\d+)$')


@pytest.fixture(params=["database", "redis"])
def backend(request, settings, keys_required):
    """The counting backend: the database, or Redis (db 2, emptied first either way)."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    settings.REGISTRY_REDIS_URL = REDIS_URL if request.param == "redis" else ""
    ratestores.reset()
    yield request.param
    ratestores.reset()


@pytest.fixture
def fleet(upstream, backend):
    load(DOCUMENT, base_uri=upstream.url, name="fleet")
    return upstream


def key(name: str, *grants: str, **fields) -> dict[str, str]:
    return {"X-API-Key": make_key(name, *grants, **fields)}


def policies(response) -> dict[str, tuple[int, int]]:
    """``RateLimit-Policy`` as {name: (quota, window)}."""
    found = {}
    for item in response["RateLimit-Policy"].split(", "):
        name, quota, window = POLICY.match(item).groups()
        found[name] = (int(quota), int(window))
    return found


def remaining(response) -> dict[str, tuple[int, int]]:
    """``RateLimit`` as {name: (remaining, reset seconds)}."""
    found = {}
    for item in response["RateLimit"].split(", "):
        name, left, reset = REMAINING.match(item).groups()
        found[name] = (int(left), int(reset))
    return found


def left(response, policy: str = "default") -> int:
    return remaining(response)[policy][0]


def assert_limited(response, policy: str = "default") -> dict:
    """A 429 problem with Retry-After and the RateLimit fields; its body."""
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "rate_limited"
    assert problem["status"] == 429
    _, window = policies(response)[policy]
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= window
    assert remaining(response)[policy] == (0, retry_after)
    return problem


class TestOverTheLimit:
    def test_the_call_over_the_limit_is_429_with_retry_after_and_reaches_nothing(
        self, api, fleet, settings
    ):
        """Issue 10 point 5: over the limit → 429 problem with Retry-After and the IETF
        fields; the upstream sees only the calls within the limit."""
        settings.REGISTRY_RATE_LIMIT = "3/hour"
        headers = key("alice", "fleet")
        for _ in range(3):
            assert api.get("/rest/fleet/ships", headers=headers).status_code == 200
        response = api.get("/rest/fleet/ships", headers=headers)
        problem = assert_limited(response)
        assert policies(response) == {"default": (3, 3600)}
        assert "3/hour" in problem["detail"]
        assert f"{response['Retry-After']} second" in problem["detail"]
        assert len(fleet.received) == 3

    def test_answers_within_the_limit_carry_the_fields_counting_down(self, api, fleet, settings):
        """Issue 10 point 5: RateLimit-Policy and RateLimit on every successful answer."""
        settings.REGISTRY_RATE_LIMIT = "5/minute"
        headers = key("alice", "fleet")
        seen = []
        for _ in range(3):
            response = api.get("/rest/fleet/ships", headers=headers)
            assert response.status_code == 200
            assert policies(response) == {"default": (5, 60)}
            seen.append(left(response))
            assert 1 <= remaining(response)["default"][1] <= 60
        assert seen == [4, 3, 2]

    def test_an_upstream_error_answer_carries_the_fields_too(self, api, backend, settings):
        """Issue 10 point 5: a call charged and then failing (upstream unreachable, 502)
        still answers the fields: it was counted."""
        settings.REGISTRY_RATE_LIMIT = "5/minute"
        load(DOCUMENT, base_uri=f"http://127.0.0.1:{free_port()}", name="fleet")
        response = api.get("/rest/fleet/ships", headers=key("alice", "fleet"))
        assert response.status_code == 502
        assert left(response) == 4

    def test_the_limit_is_per_key(self, api, fleet, settings):
        """Issue 10 point 5: each key has its own budget."""
        settings.REGISTRY_RATE_LIMIT = "1/hour"
        alice, bob = key("alice", "fleet"), key("bob", "fleet")
        assert api.get("/rest/fleet/ships", headers=alice).status_code == 200
        assert_limited(api.get("/rest/fleet/ships", headers=alice))
        assert api.get("/rest/fleet/ships", headers=bob).status_code == 200

    def test_rest_calls_to_every_operation_share_the_keys_limit(self, api, fleet, settings):
        """Issue 10 point 5: the key's limit counts all its calls, whatever they call."""
        settings.REGISTRY_RATE_LIMIT = "2/hour"
        headers = key("alice", "fleet")
        assert api.get("/rest/fleet/ships", headers=headers).status_code == 200
        assert api.post("/rest/fleet/ships", headers=headers).status_code == 200
        assert_limited(api.get("/rest/fleet/ships", headers=headers))
        assert_limited(api.post("/rest/fleet/ships", headers=headers))


class TestPerKeyOverride:
    def test_a_keys_own_limit_wins_over_the_default(self, api, fleet, settings):
        """Issue 10 point 5: a key's rate_limit overrides REGISTRY_RATE_LIMIT."""
        settings.REGISTRY_RATE_LIMIT = "100/hour"
        tight = key("tight", "fleet", rate_limit="2/day")
        loose = key("loose", "fleet")
        for _ in range(2):
            assert api.get("/rest/fleet/ships", headers=tight).status_code == 200
        response = api.get("/rest/fleet/ships", headers=tight)
        assert_limited(response)
        assert policies(response) == {"default": (2, 86400)}
        response = api.get("/rest/fleet/ships", headers=loose)
        assert response.status_code == 200
        assert policies(response) == {"default": (100, 3600)}

    def test_an_override_applies_when_the_default_is_off(self, api, fleet, settings):
        """Issue 10 point 5: REGISTRY_RATE_LIMIT=off leaves keys without an override
        unlimited (no fields); a key's own limit still holds."""
        settings.REGISTRY_RATE_LIMIT = "off"
        limited = key("limited", "fleet", rate_limit="1/hour")
        free = key("free", "fleet")
        assert api.get("/rest/fleet/ships", headers=limited).status_code == 200
        assert_limited(api.get("/rest/fleet/ships", headers=limited))
        for _ in range(3):
            response = api.get("/rest/fleet/ships", headers=free)
            assert response.status_code == 200
            assert "RateLimit" not in response
            assert "RateLimit-Policy" not in response

    def test_a_key_set_to_off_is_not_limited(self, api, fleet, settings):
        """Issue 10 point 5: rate_limit "off" exempts one key from the default."""
        settings.REGISTRY_RATE_LIMIT = "1/hour"
        headers = key("exempt", "fleet", rate_limit="off")
        for _ in range(3):
            response = api.get("/rest/fleet/ships", headers=headers)
            assert response.status_code == 200
            assert "RateLimit" not in response

    def test_a_changed_override_applies_at_once(self, api, fleet, settings):
        """Issue 10 point 5: an admin edit of the key's limit reaches the next call."""
        settings.REGISTRY_RATE_LIMIT = "1/hour"
        headers = key("alice", "fleet")
        assert api.get("/rest/fleet/ships", headers=headers).status_code == 200
        assert_limited(api.get("/rest/fleet/ships", headers=headers))
        alice = ClientKey.objects.get(name="alice")
        alice.rate_limit = "3/hour"
        alice.save()
        response = api.get("/rest/fleet/ships", headers=headers)
        assert response.status_code == 200
        assert left(response) == 1  # the same hourly counter, a larger quota


class TestPerGrantLimit:
    def grant_limit(self, name: str, capability: str, target: str, rate: str) -> None:
        grant = ClientGrant.objects.get(key__name=name, capability=capability, target=target)
        grant.rate_limit = rate
        grant.save()

    def test_a_grants_limit_is_a_second_counter_for_what_it_covers(self, api, fleet, settings):
        """Issue 10 point 5: a grant's rate_limit caps the calls it covers, besides the
        key's own limit; calls outside it are not capped by it."""
        settings.REGISTRY_RATE_LIMIT = "100/hour"
        headers = key("alice", "fleet:list-ships", "fleet:add-ship")
        self.grant_limit("alice", "fleet", "list-ships", "2/minute")
        for expected in (1, 0):
            response = api.get("/rest/fleet/ships", headers=headers)
            assert response.status_code == 200
            assert policies(response) == {"default": (100, 3600), "grant": (2, 60)}
            assert left(response, "grant") == expected
        response = api.get("/rest/fleet/ships", headers=headers)
        problem = assert_limited(response, "grant")
        assert "fleet:list-ships" in problem["detail"]
        assert left(response) == 98  # the key's own counter: untouched by the refusal
        response = api.post("/rest/fleet/ships", headers=headers)
        assert response.status_code == 200
        assert policies(response) == {"default": (100, 3600)}
        assert left(response) == 97
        assert len(fleet.received) == 3

    def test_a_whole_capability_grants_limit_covers_every_operation(self, api, fleet, settings):
        """Issue 10 point 5: the limit of a grant of the whole capability counts all of it."""
        settings.REGISTRY_RATE_LIMIT = "100/hour"
        headers = key("alice", "fleet")
        self.grant_limit("alice", "fleet", "", "2/hour")
        assert api.get("/rest/fleet/ships", headers=headers).status_code == 200
        assert api.post("/rest/fleet/ships", headers=headers).status_code == 200
        assert_limited(api.post("/rest/fleet/ships", headers=headers), "grant")

    def test_the_keys_limit_still_holds_under_a_looser_grant_limit(self, api, fleet, settings):
        """Issue 10 point 5: both counters must allow a call."""
        settings.REGISTRY_RATE_LIMIT = "2/hour"
        headers = key("alice", "fleet")
        self.grant_limit("alice", "fleet", "", "10/hour")
        for _ in range(2):
            assert api.get("/rest/fleet/ships", headers=headers).status_code == 200
        response = api.get("/rest/fleet/ships", headers=headers)
        assert_limited(response, "default")
        assert left(response, "grant") == 8  # the refusal spent nothing of the grant's


class TestWhatCounts:
    def test_a_refused_call_spends_nothing(self, api, fleet, settings):
        """Issue 10 point 5: a call refused before it runs (403 not granted, 404, 405)
        is not counted; the next granted call still finds its whole quota."""
        settings.REGISTRY_RATE_LIMIT = "2/hour"
        headers = key("alice", "fleet:list-ships")
        assert api.post("/rest/fleet/ships", headers=headers).status_code == 403
        assert api.get("/rest/fleet/nowhere", headers=headers).status_code == 404
        assert api.delete("/rest/fleet/ships", headers=headers).status_code == 405
        response = api.get("/rest/fleet/ships", headers=headers)
        assert response.status_code == 200
        assert left(response) == 1

    def test_an_async_submission_is_counted_when_submitted(self, api, fleet, settings):
        """Issue 10 point 5: async jobs count when submitted (202), like a call."""
        settings.REGISTRY_RATE_LIMIT = "2/hour"
        headers = {**key("alice", "fleet"), "Prefer": "respond-async"}
        response = api.get("/rest/fleet/ships", headers=headers)
        assert response.status_code == 202
        assert left(response) == 1
        assert api.get("/rest/fleet/ships", headers=headers).status_code == 202
        assert_limited(api.get("/rest/fleet/ships", headers=headers))

    def test_an_unrestricted_caller_is_not_counted(self, api, fleet, settings):
        """Issue 10 point 5: limits are per client; with keys not required, a caller
        without one is not a client and has no limit (and no fields)."""
        settings.REGISTRY_REQUIRE_CLIENT_KEY = False
        settings.REGISTRY_RATE_LIMIT = "1/hour"
        for _ in range(3):
            response = api.get("/rest/fleet/ships")
            assert response.status_code == 200
            assert "RateLimit" not in response


class TestBackends:
    def test_the_counter_lives_in_the_configured_backend(self, api, fleet, settings, backend):
        """Issue 10 point 5: Redis when REGISTRY_REDIS_URL is set, the database otherwise."""
        settings.REGISTRY_RATE_LIMIT = "5/hour"
        api.get("/rest/fleet/ships", headers=key("alice", "fleet"))
        server = redis.Redis.from_url(REDIS_URL)
        counted = server.keys("rl:*")
        if backend == "redis":
            assert len(counted) == 1
            assert 0 < server.ttl(counted[0]) <= 2 * 3600  # expires after the next window
            assert not RateCounter.objects.exists()
        else:
            assert counted == []
            assert list(RateCounter.objects.values_list("count", flat=True)) == [1]

    @pytest.mark.parametrize("backend", ["database"], indirect=True)
    def test_expired_database_counters_are_deleted(self, api, fleet, settings):
        """Issue 10 point 5: database counters of past windows are deleted on the fly
        (Redis expires its own)."""
        from django.utils import timezone

        settings.REGISTRY_RATE_LIMIT = "5/hour"
        RateCounter.objects.create(
            bucket="key:999", window=0, count=3, expires_at=timezone.now().replace(year=2000)
        )
        api.get("/rest/fleet/ships", headers=key("alice", "fleet"))
        assert not RateCounter.objects.filter(bucket="key:999").exists()
        assert list(RateCounter.objects.values_list("count", flat=True)) == [1]


class TestRedisDown:
    def test_a_redis_outage_lets_calls_through_without_fields(
        self, api, upstream, keys_required, settings, caplog
    ):
        """Issue 10 point 5: Redis unreachable → calls are served (fail-open), never a 5xx;
        one warning for the outage."""
        settings.REGISTRY_REDIS_URL = f"redis://127.0.0.1:{free_port()}/2"
        settings.REGISTRY_RATE_LIMIT = "1/hour"
        ratestores.reset()
        load(DOCUMENT, base_uri=upstream.url, name="fleet")
        headers = key("alice", "fleet")
        with caplog.at_level(logging.WARNING, logger="capabilities_app.access.ratelimit"):
            for _ in range(3):
                response = api.get("/rest/fleet/ships", headers=headers)
                assert response.status_code == 200
                assert "RateLimit" not in response
        warnings = [r for r in caplog.records if r.name == "capabilities_app.access.ratelimit"]
        assert len(warnings) == 1
        assert "not counted" in warnings[0].getMessage()
        assert len(upstream.received) == 3
        ratestores.reset()

    def test_calls_are_counted_again_once_redis_is_back(
        self, api, upstream, keys_required, settings, caplog
    ):
        """Issue 10 point 5: Redis goes away (its connections cut, new ones refused) and
        comes back: meanwhile calls are served uncounted, without fields; afterwards
        they are counted again on the same counter (one warning, one info line)."""
        redis.Redis.from_url(REDIS_URL).flushdb()
        proxy = TcpProxy("127.0.0.1", 6379).start()
        settings.REGISTRY_REDIS_URL = f"redis://127.0.0.1:{proxy.port}/2"
        settings.REGISTRY_RATE_LIMIT = "10/hour"
        ratestores.reset()
        load(DOCUMENT, base_uri=upstream.url, name="fleet")
        headers = key("alice", "fleet")
        try:
            with caplog.at_level(logging.INFO, logger="capabilities_app.access.ratelimit"):
                assert left(api.get("/rest/fleet/ships", headers=headers)) == 9
                proxy.cut()
                for _ in range(3):
                    response = api.get("/rest/fleet/ships", headers=headers)
                    assert response.status_code == 200
                    assert "RateLimit" not in response
                proxy.restore()
                deadline = time.monotonic() + 30  # the backoff after one failure: 1 s
                while "RateLimit" not in response and time.monotonic() < deadline:
                    time.sleep(0.2)
                    response = api.get("/rest/fleet/ships", headers=headers)
                assert response.status_code == 200
                assert left(response) == 8
        finally:
            proxy.stop()
            ratestores.reset()
        said = [
            r.getMessage() for r in caplog.records if r.name == "capabilities_app.access.ratelimit"
        ]
        assert len(said) == 2, said
        assert "not counted" in said[0]
        assert "counted" in said[1]


class TestRedisRestarts:
    """What a Redis restart looks like to a process: its idle connections closed, its
    script forgotten. Neither may cost an uncounted call."""

    @pytest.fixture
    def counted(self, api, upstream, keys_required, settings, caplog):
        redis.Redis.from_url(REDIS_URL).flushdb()
        settings.REGISTRY_REDIS_URL = REDIS_URL
        settings.REGISTRY_RATE_LIMIT = "10/hour"
        ratestores.reset()
        load(DOCUMENT, base_uri=upstream.url, name="fleet")
        headers = key("alice", "fleet")
        assert left(api.get("/rest/fleet/ships", headers=headers)) == 9
        yield lambda: api.get("/rest/fleet/ships", headers=headers)
        assert not [r for r in caplog.records if r.name == "capabilities_app.access.ratelimit"]
        ratestores.reset()

    def test_a_connection_the_server_closed_is_replaced_and_the_call_counted(self, counted):
        """Issue 10 point 5: the idle connection is dropped by the server (as on a
        restart); the next call is counted on a new one, without a warning."""
        server = redis.Redis.from_url(REDIS_URL)
        own = server.client_id()
        for client in server.client_list():
            if client["db"] == "2" and int(client["id"]) != own:
                server.client_kill_filter(_id=client["id"])
        assert left(counted()) == 8

    def test_a_forgotten_script_is_loaded_again(self, counted):
        """Issue 10 point 5: NOSCRIPT (a restarted Redis) → the script is sent once more."""
        redis.Redis.from_url(REDIS_URL).script_flush()
        assert left(counted()) == 8
        assert left(counted()) == 7
