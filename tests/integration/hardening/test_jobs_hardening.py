"""Async jobs hardened (issue 9, points 7, 8 and 18): what a job stores, whose
idempotency key is whose, and that a job sends upstream exactly what the synchronous
call sends.

Every test runs twice (eager, and on a real Celery worker on the real Redis) against
a real registry (gunicorn) and a real upstream on 127.0.0.1.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import pytest

from tests.integration.jobs.conftest import (
    FINAL,
    Stack,
    broker_environment,
    stop_stack,
)
from tests.integration.jobs.test_mcp_tasks import call
from tests.integration.rest.test_parameters import DOCUMENT as PARAMETERS
from tests.support.brokers import machine_redis
from tests.support.mcp_tasks import TasksExtension
from tests.support.registry_process import RegistryProcess
from tests.support.upstream import Answer, RecordingUpstream

pytestmark = pytest.mark.processes  # see tests/conftest.py

KEY = f"expose-key-{uuid.uuid4().hex}"
PROBLEM = "application/problem+json"

# Exposes guarded by an API key (in a header, in the query), an open one, and
# declared defaults, coercion and cookies. The consumed operation reads a header
# named like the expose's key: a credential must never feed it.
GUARDED = """
naftiko: 1.0.0-alpha2
info: {label: Guarded jobs, description: Jobs of exposes that check their callers.}
binds:
- namespace: env
  keys: {EXPOSE_KEY: HARDENING_EXPOSE_KEY}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: https://upstream.example
    resources:
    - name: things
      path: /things
      operations:
      - name: list
        method: GET
        inputParameters:
        - {name: X-API-Key, in: header}
        - {name: api_key, in: query}
        - {name: limit, in: query}
        - {name: X-Mode, in: header}
        - {name: session, in: cookie}
      - name: create
        method: POST
        inputParameters: [{name: body, in: body}]
  exposes:
  - type: rest
    namespace: keyed-header
    port: 8080
    authentication: {type: apikey, key: X-API-Key, value: '{{EXPOSE_KEY}}'}
    resources:
    - path: /things
      operations:
      - {method: GET, call: up.list}
      - {method: POST, call: up.create, with: {body: rest.body}}
  - type: rest
    namespace: keyed-query
    port: 8080
    authentication: {type: apikey, key: api_key, value: '{{EXPOSE_KEY}}', placement: query}
    resources:
    - path: /things
      operations:
      - {method: GET, call: up.list}
      - {method: POST, call: up.create, with: {body: rest.body}}
  - type: rest
    namespace: open-orders
    port: 8080
    resources:
    - path: /things
      operations:
      - {method: POST, call: up.create, with: {body: rest.body}}
    - path: /defaults
      operations:
      - method: GET
        inputParameters:
        - {name: limit, in: query, type: integer, value: 25}
        - {name: mode, in: header, type: string, value: fast}
        - {name: flag, in: query, type: boolean}
        - {name: c, in: cookie, type: string}
        call: up.list
        with: {limit: open-orders.limit, X-Mode: open-orders.mode, session: open-orders.c}
  - type: mcp
    namespace: guarded-tools
    port: 9090
    description: The same things as tools.
    tools:
    - name: find-things
      description: Find things.
      hints: {readOnly: true, idempotent: true}
      inputParameters:
      - {name: limit, type: integer, description: How many}
      - {name: mode, type: string, description: How}
      - {name: session, type: string, description: Whose}
      call: up.list
      with: {limit: guarded-tools.limit, X-Mode: guarded-tools.mode, session: guarded-tools.session}
"""


@pytest.fixture(scope="module")
def jobs_upstream():
    server = RecordingUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["eager", "worker"])
def hardened_stack(request, jobs_upstream, tmp_path_factory):
    mode = request.param
    environment = broker_environment(machine_redis()) if mode == "worker" else {}
    registry = RegistryProcess(
        tmp_path_factory.mktemp(f"jobs-hardening-{mode}"),
        HARDENING_EXPOSE_KEY=KEY,
        **environment,
    )
    registry.import_document(PARAMETERS, name="params", base_uri=jobs_upstream.url)
    registry.import_document(GUARDED, name="guarded", base_uri=jobs_upstream.url)
    stack = Stack(mode, registry, jobs_upstream, registry.start_web())
    if mode == "worker":
        stack.workers.append(registry.start_worker())
    yield stack
    stop_stack(stack)


@pytest.fixture
def stack(hardened_stack: Stack) -> Stack:
    hardened_stack.upstream.reset()
    return hardened_stack


def accepted(response) -> str:
    assert response.status_code == 202, response.text
    return response.headers["Location"]


def stored_row(stack: Stack, job_id: str) -> str:
    """Everything the database keeps of a job, as text."""
    return stack.shell(
        "from capabilities_app.store.models import Job; import json; "
        f"print(json.dumps(list(Job.objects.filter(pk='{job_id}').values()), default=str))"
    )


# --------------------------------------------------------------------------- point 7


class TestNoCredentialIsStored:
    @pytest.mark.parametrize(
        ("namespace", "credential"),
        [
            ("keyed-header", {"headers": {"X-API-Key": KEY}}),
            ("keyed-query", {"params": {"api_key": KEY}}),
        ],
    )
    def test_an_apikey_credential_never_reaches_the_job_row(
        self, stack, namespace, credential
    ) -> None:
        """Issue 9 point 7: a job of an apikey expose (header or query placement) keeps no
        trace of the caller's key, and still succeeds."""
        headers = {"Prefer": "respond-async", **credential.get("headers", {})}
        response = stack.request(
            "GET", f"/rest/{namespace}/things", headers=headers, params=credential.get("params")
        )
        location = accepted(response)
        if "params" in credential:  # the job is read with the same credential
            job = stack.wait(f"{location}?api_key={KEY}")
        else:
            job = stack.wait(location, headers=credential["headers"])

        assert job["status"] == "succeeded", job
        row = stored_row(stack, job["id"])
        assert json.loads(row), row  # the row exists
        assert KEY not in row
        sent = stack.upstream.only()
        assert KEY not in json.dumps([sent.raw_path, sent.query, sent.headers])

    def test_a_credential_in_a_post_job_is_not_stored_either(self, stack) -> None:
        """Issue 9 point 7: a POST job of an apikey expose stores its body, not the key."""
        location = accepted(
            stack.submit(
                "POST",
                "/rest/keyed-header/things",
                json={"sku": "A-1"},
                headers={"X-API-Key": KEY, "Cookie": f"session={KEY}"},
            )
        )
        job = stack.wait(location, headers={"X-API-Key": KEY})

        assert job["status"] == "succeeded", job
        row = stored_row(stack, job["id"])
        assert KEY not in row
        assert "A-1" in row  # the call's own arguments are what the job keeps
        assert stack.upstream.only().json() == {"sku": "A-1"}


# --------------------------------------------------------------------------- point 8


class TestIdempotencyScope:
    def test_another_anonymous_body_with_the_same_key_is_422(self, stack) -> None:
        """Issue 9 point 8: a second anonymous caller reusing a key with another body gets
        422 problem+json, never the first caller's job or result."""
        key = {"Idempotency-Key": uuid.uuid4().hex}
        stack.upstream.answer("POST", "/things", Answer(201, {"secret-order": "alice-1"}))
        first = stack.submit("POST", "/rest/open-orders/things", json={"who": "alice"}, headers=key)
        first_job = stack.wait(accepted(first))

        second = stack.submit(
            "POST", "/rest/open-orders/things", json={"who": "mallory"}, headers=key
        )

        assert second.status_code == 422, second.text
        assert second.headers["content-type"].startswith(PROBLEM)
        problem = second.json()
        assert problem["code"] == "idempotency_key_reused"
        assert first_job["id"] not in second.text
        assert "alice" not in second.text
        assert "Location" not in second.headers
        stack.settle()
        assert [c.json() for c in stack.upstream.calls("POST", "/things")] == [{"who": "alice"}]

    def test_the_same_request_with_the_same_key_is_the_same_job(self, stack) -> None:
        """Issue 9 point 8: the same key with the same body finds the same job (no new call)."""
        key = {"Idempotency-Key": uuid.uuid4().hex}
        first = stack.wait(
            accepted(stack.submit("POST", "/rest/open-orders/things", json={"n": 1}, headers=key))
        )

        again = stack.submit("POST", "/rest/open-orders/things", json={"n": 1}, headers=key)

        assert again.status_code == 202
        assert again.json()["id"] == first["id"]
        stack.settle()
        assert len(stack.upstream.calls("POST", "/things")) == 1

    def test_credentialed_callers_have_keys_of_their_own(self, stack) -> None:
        """Issue 9 point 8: two callers with different credentials and the same key get
        separate jobs (and neither is refused)."""
        key = uuid.uuid4().hex
        alice = {"Idempotency-Key": key, "Authorization": "Bearer alice"}
        bob = {"Idempotency-Key": key, "Authorization": "Bearer bob"}

        a = stack.submit("POST", "/rest/open-orders/things", json={"who": "a"}, headers=alice)
        b = stack.submit("POST", "/rest/open-orders/things", json={"who": "b"}, headers=bob)

        job_a, job_b = stack.wait(accepted(a), headers=alice), stack.wait(accepted(b), headers=bob)
        assert job_a["id"] != job_b["id"]
        assert (job_a["status"], job_b["status"]) == ("succeeded", "succeeded")
        stack.settle()
        bodies = sorted(c.body for c in stack.upstream.calls("POST", "/things"))
        assert bodies == [b'{"who": "a"}', b'{"who": "b"}']


# --------------------------------------------------------------------------- point 18

# The requests of tests/integration/rest/test_parameters.py (every route of its
# DOCUMENT), and declared defaults, coercion and cookies.
REQUESTS = [
    ("path-normalised", "GET", "/rest/params/items/42", {}),
    ("query-exact", "GET", "/rest/params/items/1?verbose=yes", {}),
    ("query-normalised", "GET", "/rest/params/items/1?VERBOSE=loud", {}),
    ("header", "GET", "/rest/params/items/1", {"headers": {"x-trace": "abc"}}),
    (
        "body-fields-merge",
        "POST",
        "/rest/params/search?page=2",
        {"json": {"term": "ship", "limit": 5, "other": 1}},
    ),
    (
        "whole-body",
        "PUT",
        "/rest/params/items/7",
        {"json": {"name": "new", "tags": ["a", "b"], "nested": {"x": 1}}},
    ),
    (
        "declared-parameters",
        "POST",
        "/rest/params/declared/abc?q=12",
        {
            "json": {"nested": {"value": "from-jsonpath"}},
            "headers": {"h": "header-value", "Cookie": "c=cookie-value"},
        },
    ),
    ("declared-type-refused", "POST", "/rest/params/declared/abc?q=twelve", {"json": {}}),
    (
        "query-header-cookie",
        "GET",
        "/rest/params/items/1?verbose=1&session=s-1",
        {"headers": {"x-trace": "t-1"}},
    ),
    ("optional-left-out", "GET", "/rest/params/items/1", {}),
    ("static-value", "POST", "/rest/params/search?page=1", {"json": {"term": "x"}}),
    ("encoded-path", "GET", "/rest/params/items/a%2Fb%20c", {}),
    (
        "body-values-in-path",
        "POST",
        "/rest/params/orders",
        {"json": {"order": "o 1/x", "quantity": 2, "tags": ["a"]}},
    ),
    (
        "body-template",
        "POST",
        "/rest/params/orders/o-9",
        {"json": {"quantity": 3, "tags": ["red", "big"]}},
    ),
    ("missing-required", "POST", "/rest/params/search", {"json": {"term": "x"}}),
    ("missing-required-body", "PUT", "/rest/params/items/7", {}),
    ("declared-defaults", "GET", "/rest/open-orders/defaults", {}),
    (
        "declared-coercion-and-cookie",
        "GET",
        "/rest/open-orders/defaults?limit=7&flag=true",
        {"headers": {"mode": "slow", "Cookie": "c=crumb; other=1"}},
    ),
]


def seen(received) -> dict:
    """What the upstream received, as comparable data."""
    return {
        "method": received.method,
        "path": received.raw_path,
        "query": received.query,
        "headers": received.headers,
        "body": received.body,
    }


def send(stack: Stack, method: str, path: str, options: dict, *, asynchronous: bool):
    headers = dict(options.get("headers") or {})
    if asynchronous:
        headers["Prefer"] = "respond-async"
    body = {}
    if "json" in options:
        body = {
            "content": json.dumps(options["json"]),
            "headers": {"content-type": "application/json"},
        }
    return stack.request(
        method, path, **{**body, "headers": {**body.get("headers", {}), **headers}}
    )


@pytest.mark.parametrize(
    ("method", "path", "options"),
    [pytest.param(m, p, o, id=name) for name, m, p, o in REQUESTS],
)
def test_a_job_sends_upstream_what_the_synchronous_call_sends(stack, method, path, options) -> None:
    """Issue 9 point 18: for every route of the REST parameter tests, the same request sent
    synchronously and with ``Prefer: respond-async`` reaches the upstream identically
    (method, path, query, headers, body), or is refused alike before any upstream call."""
    synchronous = send(stack, method, path, options, asynchronous=False)
    sync_seen = [seen(r) for r in stack.upstream.received]
    stack.upstream.reset()

    submitted = send(stack, method, path, options, asynchronous=True)
    if synchronous.status_code >= 400:
        # Refused before any upstream call: the same refusal, and no job.
        assert submitted.status_code == synchronous.status_code, submitted.text
        assert submitted.json()["code"] == synchronous.json()["code"]
        stack.settle()
        assert sync_seen == [] and stack.upstream.received == []
        return
    job = stack.wait(accepted(submitted))
    assert job["status"] in FINAL
    assert job["status"] == "succeeded", job
    assert job["result"] == synchronous.json()
    assert [seen(r) for r in stack.upstream.received] == sync_seen
    assert len(sync_seen) == 1


def test_the_path_is_sent_encoded_alike(stack) -> None:
    """Issue 9 point 18: a path value with an encoded '/' and space reaches the upstream as
    one encoded segment, synchronously and from a job."""
    raw = "/rest/params/items/" + quote("a/b c", safe="")
    synchronous = stack.request("GET", raw)
    assert synchronous.status_code == 200, synchronous.text
    job = stack.wait(accepted(stack.submit("GET", raw)))
    assert job["status"] == "succeeded"
    first, second = stack.upstream.received
    assert first.raw_path == second.raw_path == "/items/a%2Fb%20c"


def test_a_tool_task_sends_upstream_what_the_synchronous_tool_call_sends(stack) -> None:
    """Issue 9 point 18: an MCP tool call and the same call as a task (a job) reach the
    upstream identically."""
    url = stack.registry.start_mcp() + "/mcp/guarded-tools"
    arguments = {"limit": 5, "mode": "careful", "session": "s 1; admin=1"}

    synchronous = call(url, "find-things", arguments)
    sync_seen = [seen(r) for r in stack.upstream.received]
    stack.upstream.reset()
    tasks = TasksExtension()
    as_task = call(url, "find-things", arguments, extension=tasks)

    assert len(tasks.created) == 1  # it did run as a task
    assert not synchronous.is_error and as_task.structured_content == synchronous.structured_content
    assert len(sync_seen) == 1
    assert [seen(r) for r in stack.upstream.received] == sync_seen
    assert sync_seen[0]["query"] == [("limit", "5")]
    assert sync_seen[0]["headers"]["x-mode"] == "careful"
