"""A canary: a client key's and an access token's values appear nowhere the registry writes.

One key and one token are used for every kind of REST call (served, refused, async, its
job read back, a revocation), with every logger at DEBUG. Then every column of every
table, every log line, every answer (body and headers) and every upstream request is
searched for them (issue 10, acceptance).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection

from capabilities_app.access import keytable
from tests.integration.rest.conftest import load
from tests.support.keys import make_key, revoke

pytestmark = pytest.mark.django_db(transaction=True)

DOCUMENT = """
naftiko: 1.0.0-alpha2
info: {label: Canary, description: Where credentials must not go.}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: https://upstream.example
    resources:
    - name: ships
      path: /ships
      operations:
      - {name: list, method: GET, inputParameters: [{name: status, in: query}]}
      - {name: add, method: POST}
  exposes:
  - type: rest
    namespace: fleet
    port: 8080
    resources:
    - path: /ships
      operations:
      - {name: list-ships, method: GET, call: up.list, with: {status: rest.status}}
      - {name: add-ship, method: POST, call: up.add}
    - path: /proxy/{{path}}
      forward: {targetNamespace: up, trustedHeaders: [Authorization, X-API-Key]}
"""


@contextmanager
def every_log_line() -> Iterator[list[str]]:
    """Every record of every logger, at DEBUG, formatted with its arguments."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))
            if record.exc_info:
                lines.append(logging.Formatter().formatException(record.exc_info))

    handler = Keep(level=logging.DEBUG)
    loggers = [logging.getLogger(), *map(logging.getLogger, logging.root.manager.loggerDict)]
    saved = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    try:
        yield lines
    finally:
        for logger, level in saved:
            logger.setLevel(level)
            logger.removeHandler(handler)


def database_text() -> str:
    """Every value of every column of every table, as text."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - table names from introspection
            parts.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(parts)


def test_a_key_and_a_token_are_nowhere_the_registry_writes(
    api, upstream, keys_required, idp, settings
):
    """Issue 10 acceptance: no database column, DEBUG log line, job row, error or upstream
    request holds the key's or the token's value."""
    settings.REGISTRY_RATE_LIMIT = "1000/day"
    load(DOCUMENT, base_uri=upstream.url, name="canary")
    key = make_key("canary", "canary:list-ships", "canary:add-ship")
    resource = "http://127.0.0.1:8000/rest/fleet"
    token = idp.token(audience=resource, scope="capability:canary:list-ships")
    wrong_audience = idp.token(audience="http://elsewhere/rest/fleet", scope="capability:canary")
    secrets = {
        "key": key,
        "key secret": key.split("_", 2)[2],
        "token": token,
        "token signature": token.rsplit(".", 1)[1],
        "wrong-audience token": wrong_audience,
    }
    answers = []
    with every_log_line() as lines:
        for headers in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
            answers.append(api.get("/rest/fleet/ships?status=active", headers=headers))
            answers.append(
                api.post(
                    "/rest/fleet/ships",
                    data=b'{"a": 1}',
                    content_type="application/json",
                    headers=headers,
                )
            )
            answers.append(api.get("/rest/fleet/proxy/x", headers=headers))  # not granted: 403
            answers.append(api.get("/rest/fleet/nowhere", headers=headers))  # 404
            answers.append(api.get("/rest/fleet/ships?status=%0d", headers=headers))
            job = api.get("/rest/fleet/ships", headers={**headers, "Prefer": "respond-async"})
            answers.append(job)
            answers.append(api.get(job["Location"], headers=headers))
        token_headers = {"Authorization": f"Bearer {token}"}
        answers.append(api.get("/rest/fleet/ships", headers=token_headers))
        answers.append(
            api.post(
                "/rest/fleet/ships",
                data=b"{}",
                content_type="application/json",
                headers=token_headers,
            )
        )  # 403 insufficient_scope
        job = api.get("/rest/fleet/ships", headers={**token_headers, "Prefer": "respond-async"})
        answers.append(job)
        answers.append(api.get(job["Location"], headers=token_headers))
        answers.append(
            api.get("/rest/fleet/ships", headers={"Authorization": f"Bearer {wrong_audience}"})
        )
        revoke("canary")
        keytable.reset()
        answers.append(api.get("/rest/fleet/ships", headers={"X-API-Key": key}))

    statuses = [a.status_code for a in answers]
    assert statuses.count(200) >= 6 and 202 in statuses and 401 in statuses and 403 in statuses, (
        statuses
    )
    assert len(upstream.received) >= 6
    assert lines, "nothing was logged at DEBUG: the canary would prove nothing"
    places = {
        "database": database_text(),
        "logs": "\n".join(lines),
        "answers": "\n".join(
            f"{a.status_code} {dict(a.items())} {a.content.decode(errors='replace')}"
            for a in answers
        ),
        "upstream": "\n".join(
            f"{r.method} {r.raw_path} {r.query} {r.header_lines} {r.body!r}"
            for r in upstream.received
        ),
    }
    assert "canary" in places["database"]  # the key's row is there, by name and prefix
    assert key[:12] in places["database"]
    for place, text in places.items():
        for what, value in secrets.items():
            assert value not in text, f"the {what} is in the {place}"
