"""A canary on MCP over HTTP: a key's and a token's values appear nowhere the registry writes.

A real ``run_mcp_server`` process logging at DEBUG, the SDK's client sending the key (in
each header form) and an access token: tools called and refused, a resource, a prompt,
a task run as a job. Then its log, every column of every table of its database and every
upstream request are searched for them (issue 10, acceptance).
"""

from __future__ import annotations

import json

import pytest

from tests.integration.access.mcp_stack import api_key, bearer, connect, make_keys, start_registry
from tests.integration.mcp.conftest import run
from tests.support.identity import IdentityProvider
from tests.support.mcp_tasks import TasksExtension
from tests.support.upstream import Answer, RecordingUpstream

pytestmark = pytest.mark.processes  # see tests/conftest.py

DUMP = """
from django.db import connection
with connection.cursor() as cursor:
    for table in connection.introspection.table_names(cursor):
        cursor.execute("SELECT * FROM " + connection.ops.quote_name(table))
        for row in cursor.fetchall():
            print(table, repr(row))
"""


def test_a_key_and_a_token_are_nowhere_the_mcp_server_writes(tmp_path):
    """Issue 10 acceptance: no DEBUG log line, database column, job row, error or upstream
    request of the MCP server holds the key's or the token's value."""
    upstream = RecordingUpstream().start()
    idp = IdentityProvider().start()
    upstream.answer("GET", "/notes", Answer(200, [{"id": "n1"}]))
    registry = start_registry(
        tmp_path,
        upstream.url,
        LOG_LEVEL="DEBUG",
        REGISTRY_OAUTH_ISSUER=idp.issuer,
        REGISTRY_OAUTH_JWKS_URL=idp.jwks_url,
        REGISTRY_RATE_LIMIT="1000/day",
    )
    try:
        key = make_keys(registry, {"canary": {"grants": ["desk:list-notes", "desk:all-notes"]}})[
            "canary"
        ]
        resource = "https://mcp.registry.test/mcp/desk-mcp"
        token = idp.token(audience=resource, scope="capability:desk:list-notes")
        url = registry.start_mcp() + "/mcp/desk-mcp"
        seen = []

        async def attempt(call) -> None:
            try:
                seen.append(await call)
            except Exception as error:  # a JSON-RPC error (a refusal): its text is searched too
                seen.append(str(error))

        async def use(client):
            await attempt(client.list_tools())
            await attempt(client.call_tool("list-notes", {}))
            await attempt(client.call_tool("get-note", {"id": "n1"}))  # not granted
            await attempt(client.call_tool("no-such-tool", {}))
            await attempt(client.read_resource("notes://all"))  # not granted to the token
            await attempt(client.get_prompt("summarize", {"topic": "x"}))  # not granted

        for headers in (bearer(key), api_key(key), bearer(token)):
            run(connect(url, use, headers=headers))

        async def task(client):
            seen.append(await client.call_tool("list-notes", {}))

        tasks = TasksExtension()
        run(connect(url, task, headers=bearer(key), mode="2026-07-28", extensions=[tasks]))
        assert tasks.created, "no task was created: the job row would not be searched"

        log = "\n".join(path.read_text() for path in tmp_path.glob("*.log"))
        # The SDK says this at DEBUG only (asyncio's "Using selector" is not said under
        # uvloop): the server did log at DEBUG (the format has no level).
        assert "Initializing server" in log, (
            "the MCP server did not log at DEBUG: it proves nothing"
        )
        database = registry.manage("shell", "-v", "0", "-c", DUMP).stdout
        assert "capabilities_app_job" in database and "canary" in database
        places = {
            "log": log,
            "database": database,
            "answers": "\n".join(
                x if isinstance(x, str) else json.dumps(x.model_dump(mode="json")) for x in seen
            ),
            "upstream": "\n".join(
                f"{r.method} {r.raw_path} {r.query} {r.header_lines} {r.body!r}"
                for r in upstream.received
            ),
        }
        assert len(upstream.received) >= 4
        secrets = {
            "key": key,
            "key secret": key.split("_", 2)[2],
            "token": token,
            "token signature": token.rsplit(".", 1)[1],
        }
        for place, text in places.items():
            for what, value in secrets.items():
                assert value not in text, f"the {what} is in the {place}"
    finally:
        registry.stop()
        idp.stop()
        upstream.stop()
