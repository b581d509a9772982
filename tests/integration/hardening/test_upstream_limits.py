"""Upstream answers past the registry's limits (issue 9 points 2, 3, 4, 11, 12, 14, 16).

The upstream here is hostile on purpose (``tests.support.hostile_upstream``): it streams
hundreds of megabytes, trickles headers, sends gzip and YAML bombs and documents nested
past any reason. Each answer must end as a problem+json with a stable code, the
connection dropped, and (in a real gunicorn worker) the worker's memory where it was.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import pytest

from tests.conftest import run_command
from tests.integration.rest.conftest import load
from tests.support import hostile_upstream as hostile
from tests.support.hostile_upstream import MB, HostileUpstream
from tests.support.registry_process import RegistryProcess

pytestmark = pytest.mark.django_db

DOCUMENT = """
naftiko: 1.0.0-alpha2
info: {label: Limits, description: Upstream answers past the registry's limits.}
capability:
  consumes:
  - type: http
    namespace: hostile
    baseUri: http://127.0.0.1
    resources:
    - name: raw
      path: /raw
      operations:
      - {name: raw, method: GET}
    - name: json
      path: /json
      operations:
      - {name: json, method: GET}
    - name: yaml
      path: /yaml
      operations:
      - {name: yaml, method: GET, outputRawFormat: yaml}
    - name: csv
      path: /csv
      operations:
      - {name: csv, method: GET, outputRawFormat: csv}
    - name: xml
      path: /xml
      operations:
      - {name: xml, method: GET, outputRawFormat: xml}
    - name: echo
      path: /echo
      operations:
      - name: echo
        method: POST
        inputParameters:
        - {name: body, in: body}
  exposes:
  - type: rest
    namespace: limits
    port: 8080
    resources:
    - path: /raw
      operations:
      - {method: GET, call: hostile.raw}
    - path: /mapped
      operations:
      - method: GET
        call: hostile.json
        outputParameters:
        - {type: object, mapping: $.data}
    - path: /passthrough
      operations:
      - method: GET
        call: hostile.json
        outputParameters:
        - {type: object, mapping: $.}
    - path: /yaml
      operations:
      - method: GET
        call: hostile.yaml
        outputParameters:
        - {type: object, mapping: $.}
    - path: /csv
      operations:
      - method: GET
        call: hostile.csv
        outputParameters:
        - {type: array, mapping: $.}
    - path: /xml
      operations:
      - method: GET
        call: hostile.xml
        outputParameters:
        - {type: object, mapping: $.}
    - path: /steps
      operations:
      - method: GET
        name: fetch-in-steps
        steps:
        - {type: call, name: fetch, call: hostile.json}
    - path: /echo
      operations:
      - method: POST
        call: hostile.echo
        with: {body: rest.body}
    - path: /forward/{{path}}
      forward:
        targetNamespace: hostile
  - type: mcp
    namespace: limits-mcp
    port: 9090
    description: The same upstream over MCP.
    tools:
    - name: fetch-raw
      description: The raw answer
      call: hostile.raw
    - name: fetch-mapped
      description: The mapped answer
      call: hostile.json
      outputParameters:
      - {type: object, mapping: $.data}
"""

# A JSON document of ``size`` bytes: {"data": "xxxx…"}.
JSON_PREFIX = b'{"data": "'
JSON_SUFFIX = b'"}'


def json_of(size: int, **options) -> hostile.Behaviour:
    return hostile.stream(
        size,
        content_type="application/json",
        prefix=JSON_PREFIX,
        suffix=JSON_SUFFIX,
        **options,
    )


@pytest.fixture
def hostile_upstream():
    server = HostileUpstream().start()
    yield server
    server.stop()


@pytest.fixture
def limits(hostile_upstream):
    return load(DOCUMENT, base_uri=hostile_upstream.url, name="limits")


def settled(server: HostileUpstream, path: str) -> hostile.Exchange:
    """The one exchange on ``path``, once the server has finished with it."""
    for _ in range(200):
        exchanges = server.exchanges_for(path)
        if exchanges and (exchanges[-1].complete or exchanges[-1].aborted):
            return exchanges[-1]
        time.sleep(0.05)
    raise AssertionError(f"the upstream is still writing {path}: {server.exchanges_for(path)}")


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code, body
    return body


# --------------------------------------------------------------------------- point 2


class TestUpstreamByteCap:
    def test_a_200_mb_pass_through_answer_is_502_and_the_connection_is_dropped(
        self, api, hostile_upstream, limits
    ):
        """Issue 9 point 2: a 200 MB answer (no length announced) on a pass-through
        operation is 502 upstream_too_large; the registry stops reading and drops the
        connection."""
        hostile_upstream.route("/raw", hostile.stream(200 * MB, declare_length=False))
        body = problem(api.get("/rest/limits/raw"), 502, "upstream_too_large")
        assert "REGISTRY_MAX_UPSTREAM_BYTES" in body["detail"]
        assert "10,485,760" in body["detail"]
        exchange = settled(hostile_upstream, "/raw")
        assert exchange.aborted and not exchange.complete
        assert exchange.body_bytes_sent < 100 * MB

    def test_a_200_mb_mapped_answer_is_502_before_its_body_is_read(
        self, api, hostile_upstream, limits
    ):
        """Issue 9 point 2: a 200 MB answer on a mapped operation is 502
        upstream_too_large; its announced length alone refuses it."""
        hostile_upstream.route("/json", json_of(200 * MB))
        problem(api.get("/rest/limits/mapped"), 502, "upstream_too_large")
        exchange = settled(hostile_upstream, "/json")
        assert exchange.aborted and not exchange.complete
        assert exchange.body_bytes_sent < 100 * MB

    @pytest.mark.parametrize("path", ["/rest/limits/steps", "/rest/limits/forward/json"])
    def test_steps_and_forwards_are_capped_too(self, api, hostile_upstream, limits, path):
        """Issue 9 point 2: the cap applies to every answer: a step's and a forward's."""
        hostile_upstream.route("/json", json_of(200 * MB, declare_length=False))
        problem(api.get(path), 502, "upstream_too_large")
        assert settled(hostile_upstream, "/json").aborted

    def test_an_upstream_error_answer_is_capped_too(self, api, hostile_upstream, limits):
        """Issue 9 point 2: an error answer passed through as it came is capped too."""

        def huge_error(conn: hostile.Connection) -> None:
            conn.head(500, [("Content-Type", "text/plain"), ("Transfer-Encoding", "chunked")])
            block = b"e" * 65536
            while True:
                conn.send(b"10000\r\n" + block + b"\r\n")

        hostile_upstream.route("/raw", huge_error)
        problem(api.get("/rest/limits/raw"), 502, "upstream_too_large")

    def test_a_gzip_bomb_counts_by_its_decoded_size(self, api, hostile_upstream, limits):
        """Issue 9 point 2: 200 MB of zeros in 200 kB of gzip is 200 MB, not 200 kB."""
        hostile_upstream.route("/raw", hostile.gzip_bomb(200 * MB))
        problem(api.get("/rest/limits/raw"), 502, "upstream_too_large")

    def test_an_answer_just_under_the_cap_still_passes(self, api, hostile_upstream, limits):
        """Issue 9 point 2: 10 MB less a kilobyte passes, whole, on both paths."""
        size = 10 * MB - 1024
        hostile_upstream.route("/raw", hostile.stream(size, declare_length=False))
        response = api.get("/rest/limits/raw")
        assert response.status_code == 200
        assert len(response.content) == size
        hostile_upstream.route("/json", json_of(size))
        response = api.get("/rest/limits/mapped")
        assert response.status_code == 200
        assert len(response.json()) == size - len(JSON_PREFIX) - len(JSON_SUFFIX)

    @pytest.mark.parametrize("declare_length", [True, False])
    def test_the_cap_is_the_setting_to_the_byte(
        self, api, hostile_upstream, limits, settings, declare_length
    ):
        """Issue 9 point 2: REGISTRY_MAX_UPSTREAM_BYTES bytes pass; one more does not."""
        settings.REGISTRY_MAX_UPSTREAM_BYTES = 1000
        hostile_upstream.route("/raw", hostile.stream(1000, declare_length=declare_length))
        assert api.get("/rest/limits/raw").status_code == 200
        hostile_upstream.route("/raw", hostile.stream(1001, declare_length=declare_length))
        body = problem(api.get("/rest/limits/raw"), 502, "upstream_too_large")
        assert "1,000 bytes" in body["detail"]

    def test_a_gzipped_answer_under_the_cap_is_decoded(self, api, hostile_upstream, limits):
        """Issue 9 point 2: bounded decoding still decodes what is within the cap."""
        document = {"data": {"text": "y" * 100_000}}
        hostile_upstream.route("/json", hostile.gzipped(json.dumps(document).encode()))
        response = api.get("/rest/limits/mapped")
        assert response.status_code == 200
        assert response.json() == document["data"]


# --------------------------------------------------------------------------- point 3


class TestFormatLimits:
    def test_a_yaml_alias_bomb_is_502(self, api, hostile_upstream, limits):
        """Issue 9 point 3: a 450-byte YAML alias bomb (9**8 strings once expanded) is
        refused, not turned into a 300 MB answer."""
        bomb = hostile.yaml_alias_bomb()
        assert len(bomb) < 500
        hostile_upstream.route("/yaml", hostile.fixed(bomb, content_type="application/yaml"))
        body = problem(api.get("/rest/limits/yaml"), 502, "upstream_too_complex")
        assert "alias" in body["detail"]

    def test_a_45_mb_csv_is_502(self, api, hostile_upstream, limits):
        """Issue 9 point 3: a 45 MB CSV answer is refused (by the byte cap)."""
        rows = (45 * MB - len(hostile.CSV_HEADER)) // len(hostile.CSV_ROW) * len(hostile.CSV_ROW)
        hostile_upstream.route(
            "/csv",
            hostile.stream(
                len(hostile.CSV_HEADER) + rows,
                content_type="text/csv",
                prefix=hostile.CSV_HEADER,
                filler=hostile.CSV_ROW,
                declare_length=False,
            ),
        )
        problem(api.get("/rest/limits/csv"), 502, "upstream_too_large")

    def test_a_csv_under_the_byte_cap_with_too_many_cells_is_502(
        self, api, hostile_upstream, limits
    ):
        """Issue 9 point 3: 9 MB of one-character cells (4.7 million of them) is refused
        while the rows are read, by the cell count."""
        size = 9 * MB
        hostile_upstream.route(
            "/csv",
            hostile.stream(size, content_type="text/csv", prefix=b"a,b\n", filler=b"1,\n"),
        )
        body = problem(api.get("/rest/limits/csv"), 502, "upstream_too_complex")
        assert "500,000" in body["detail"]

    def test_an_xml_nesting_bomb_is_502(self, api, hostile_upstream, limits):
        """Issue 9 point 3: 100,000 nested elements are refused."""
        hostile_upstream.route(
            "/xml", hostile.fixed(hostile.deep_xml(100_000), content_type="application/xml")
        )
        body = problem(api.get("/rest/limits/xml"), 502, "upstream_too_complex")
        assert "nest" in body["detail"]

    def test_an_xml_entity_bomb_is_502(self, api, hostile_upstream, limits):
        """Issue 9 point 3: entity declarations are never expanded (billion laughs)."""
        hostile_upstream.route(
            "/xml", hostile.fixed(hostile.xml_entity_bomb(), content_type="application/xml")
        )
        problem(api.get("/rest/limits/xml"), 502, "upstream_invalid")

    def test_a_json_nesting_bomb_is_502(self, api, hostile_upstream, limits):
        """Issue 9 point 3: 100,000 nested arrays on a mapped operation are refused."""
        hostile_upstream.route("/json", hostile.fixed(hostile.deep_json(100_000)))
        body = problem(api.get("/rest/limits/mapped"), 502, "upstream_too_complex")
        assert "nest" in body["detail"]

    def test_a_wide_json_under_the_byte_cap_is_502(self, api, hostile_upstream, limits):
        """Issue 9 point 3: 3 million empty arrays in 9 MB (hundreds of MB as Python
        objects) are refused by the value count."""
        hostile_upstream.route(
            "/json",
            hostile.stream(9 * MB, prefix=b'{"data": [[]', filler=b",[]", suffix=b"]}"),
        )
        body = problem(api.get("/rest/limits/mapped"), 502, "upstream_too_complex")
        assert "500,000" in body["detail"]

    def test_ordinary_documents_in_every_format_still_map(self, api, hostile_upstream, limits):
        """Issue 9 point 3: the guards leave ordinary answers alone."""
        hostile_upstream.route(
            "/yaml",
            hostile.fixed(
                b"base: &b {x: 1}\ncopy: *b\nwhen: 2024-01-02\n", content_type="application/yaml"
            ),
        )
        assert api.get("/rest/limits/yaml").json() == {
            "base": {"x": 1},
            "copy": {"x": 1},
            "when": "2024-01-02",
        }
        hostile_upstream.route("/csv", hostile.fixed(b"id,name\n1,Ada\n", content_type="text/csv"))
        assert api.get("/rest/limits/csv").json() == [{"id": "1", "name": "Ada"}]
        hostile_upstream.route(
            "/xml", hostile.fixed(b"<r><a>1</a><a>2</a></r>", content_type="application/xml")
        )
        assert api.get("/rest/limits/xml").json() == {"r": {"a": ["1", "2"]}}
        nested = json.dumps({"data": {"deep": [[[[{"x": [1, 2]}]]]]}})
        hostile_upstream.route("/json", hostile.fixed(nested))
        assert api.get("/rest/limits/mapped").json() == {"deep": [[[[{"x": [1, 2]}]]]]}


# --------------------------------------------------------------------------- point 4


class TestWholeExchangeDeadline:
    def test_header_lines_trickling_in_end_at_the_timeout(
        self, api, hostile_upstream, limits, settings
    ):
        """Issue 9 point 4: one header line per second for 60 s under a 2 s timeout is
        504 upstream_timeout (the per-read timeout alone never trips)."""
        settings.REGISTRY_UPSTREAM_TIMEOUT = 2
        hostile_upstream.route("/raw", hostile.trickle_headers(seconds=60))
        body = problem(api.get("/rest/limits/raw"), 504, "upstream_timeout")
        assert "REGISTRY_UPSTREAM_TIMEOUT" in body["detail"]
        assert not settled(hostile_upstream, "/raw").complete

    def test_a_body_trickling_in_ends_at_the_timeout(self, api, hostile_upstream, limits, settings):
        """Issue 9 point 4: a body of one byte per second for 60 s under a 2 s timeout
        is 504 upstream_timeout."""
        settings.REGISTRY_UPSTREAM_TIMEOUT = 2
        hostile_upstream.route("/raw", hostile.trickle_body(seconds=60))
        problem(api.get("/rest/limits/raw"), 504, "upstream_timeout")
        assert not settled(hostile_upstream, "/raw").complete


@pytest.mark.processes
def test_header_lines_trickling_in_end_at_the_timeout_over_mcp(tmp_path, hostile_upstream):
    """Issue 9 point 4: over MCP, eight tool calls whose upstream trickles its header
    lines for 60 s end as upstream_timeout errors under a 2 s timeout, and a call to a
    well-behaved upstream made at the same time answers. Point 11: a pass-through
    answer nested 990 levels reaches the MCP client as text."""
    from mcp import Client

    registry = RegistryProcess(tmp_path, REGISTRY_UPSTREAM_TIMEOUT="2")
    try:
        registry.import_document(DOCUMENT, name="limits", base_uri=hostile_upstream.url)
        url = registry.start_mcp() + "/mcp/limits-mcp"
        hostile_upstream.route("/raw", hostile.trickle_headers(seconds=60))
        hostile_upstream.route("/json", hostile.fixed(b'{"data": {"ok": true}}'))

        async def use():
            async with Client(url) as client:
                return await asyncio.gather(
                    *[client.call_tool("fetch-raw", {}) for _ in range(8)],
                    client.call_tool("fetch-mapped", {}),
                )

        *slow, fast = asyncio.run(use())
        trickled = hostile_upstream.exchanges_for("/raw")
        # A pass-through answer nested 990 levels: the tool gets it as text.
        deep = hostile.deep_json(990)
        hostile_upstream.route("/raw", hostile.fixed(deep))

        async def use_deep():
            async with Client(url) as client:
                return await client.call_tool("fetch-raw", {})

        passed = asyncio.run(use_deep())
    finally:
        registry.stop()
    assert passed.is_error is False
    assert passed.content[0].text == deep.decode()
    assert fast.is_error is False
    assert fast.structured_content == {"ok": True}
    for result in slow:
        assert result.is_error is True
        assert json.loads(result.content[0].text)["code"] == "upstream_timeout"
    assert len(trickled) == 8
    assert not any(e.complete for e in trickled)


# --------------------------------------------------------------------------- point 11


class TestDeepNesting:
    def test_100k_brackets_in_a_json_request_body_is_400(self, api, hostile_upstream, limits):
        """Issue 9 point 11: 100,000 '[' in a JSON request body is 400 problem+json,
        nothing sent upstream."""
        hostile_upstream.route("/echo", hostile.fixed(b"{}"))
        response = api.post(
            "/rest/limits/echo", data=b"[" * 100_000, content_type="application/json"
        )
        body = problem(response, 400, "invalid_body")
        assert "nest" in body["detail"]
        assert hostile_upstream.exchanges_for("/echo") == []

    def test_a_990_level_request_body_is_400(self, api, hostile_upstream, limits):
        """Issue 9 point 11: a body that parses but nests 990 levels is 400 too."""
        hostile_upstream.route("/echo", hostile.fixed(b"{}"))
        response = api.post(
            "/rest/limits/echo", data=hostile.deep_json(990), content_type="application/json"
        )
        problem(response, 400, "invalid_body")
        assert hostile_upstream.exchanges_for("/echo") == []

    def test_an_ordinary_request_body_still_goes_upstream(self, api, hostile_upstream, limits):
        """Issue 9 point 11: the guard leaves ordinary bodies alone."""
        hostile_upstream.route("/echo", hostile.fixed(b'{"ok": true}'))
        response = api.post(
            "/rest/limits/echo", data=b'{"a": [[[1]]]}', content_type="application/json"
        )
        assert response.status_code == 200
        assert response.json() == {"ok": True}

    def test_a_990_level_upstream_json_on_a_mapped_operation_is_502(
        self, api, hostile_upstream, limits
    ):
        """Issue 9 point 11: an upstream JSON nested 990 levels on a mapped operation is
        502 problem+json, not an HTML 500."""
        document = b'{"data": ' + hostile.deep_json(990) + b"}"
        hostile_upstream.route("/json", hostile.fixed(document))
        problem(api.get("/rest/limits/mapped"), 502, "upstream_too_complex")

    def test_a_deeply_nested_yaml_import_is_a_located_error(self, tmp_path: Path):
        """Issue 9 point 11: a YAML upload nested 900 levels (under libyaml's own limit
        of 1,000) fails with FILE:LINE:COLUMN, exit 1, no traceback."""
        path = tmp_path / "deep.yaml"
        path.write_text(
            "naftiko: 1.0.0-alpha2\ninfo:\n  label: deep\n  x: " + "[" * 900 + "]" * 900 + "\n"
        )
        result = run_command("import_capability", str(path))
        assert result.code == 1
        assert "Traceback" not in result.stderr
        match = re.search(rf"^{re.escape(str(path))}:(\d+):(\d+): .*nest", result.stderr, re.M)
        assert match, result.stderr
        assert match[1] == "4"

    def test_a_deeply_nested_block_yaml_import_is_a_located_error(self, tmp_path: Path):
        """Issue 9 point 11: the same for block style (indentation) nesting."""
        path = tmp_path / "deep-block.yaml"
        lines = ["naftiko: 1.0.0-alpha2", "info:"]
        lines += [" " * (n + 1) + f"k{n}:" for n in range(1, 900)]
        path.write_text("\n".join(lines) + " 1\n")
        result = run_command("import_capability", str(path))
        assert result.code == 1
        assert "Traceback" not in result.stderr
        assert re.search(rf"^{re.escape(str(path))}:\d+:\d+: .*nest", result.stderr, re.M), (
            result.stderr
        )


# --------------------------------------------------------------------------- point 12


class TestPassedThroughHeaders:
    def test_an_upstream_302_keeps_its_location(self, api, hostile_upstream, limits):
        """Issue 9 point 12: an upstream 302 reaches the caller with its Location (the
        redirect is not followed)."""
        hostile_upstream.route(
            "/raw", hostile.fixed(b"", status=302, headers=[("Location", "/elsewhere")])
        )
        response = api.get("/rest/limits/raw")
        assert response.status_code == 302
        assert response["Location"] == "/elsewhere"
        assert [e.path for e in hostile_upstream.exchanges] == ["/raw"]

    def test_an_absolute_location_is_passed_as_it_came(self, api, hostile_upstream, limits):
        """Issue 9 point 12: the Location is not rewritten."""
        target = "https://other.example/next?page=2"
        hostile_upstream.route(
            "/raw", hostile.fixed(b"", status=307, headers=[("Location", target)])
        )
        response = api.get("/rest/limits/raw")
        assert (response.status_code, response["Location"]) == (307, target)

    def test_retry_after_and_content_language_pass_through_and_nothing_else(
        self, api, hostile_upstream, limits
    ):
        """Issue 9 point 12: Retry-After on a 503 and Content-Language reach the caller;
        other upstream headers (cookies, caching, internal ones) do not."""
        hostile_upstream.route(
            "/raw",
            hostile.fixed(
                b"busy", status=503, content_type="text/plain", headers=[("Retry-After", "7")]
            ),
        )
        response = api.get("/rest/limits/raw")
        assert (response.status_code, response["Retry-After"]) == (503, "7")
        hostile_upstream.route(
            "/json",
            hostile.fixed(
                b'{"data": {"a": 1}}',
                headers=[
                    ("Content-Language", "en"),
                    ("ETag", '"v1"'),
                    ("Cache-Control", "public, max-age=600"),
                    ("Set-Cookie", "upstream=secret"),
                    ("X-Internal", "1"),
                ],
            ),
        )
        for path in ("/rest/limits/mapped", "/rest/limits/passthrough"):
            response = api.get(path)
            assert response.status_code == 200
            assert response["Content-Language"] == "en"
            for name in ("ETag", "Cache-Control", "Set-Cookie", "X-Internal"):
                assert name not in response, name


# --------------------------------------------------------------------------- point 14

EMBEDDED_LOOPBACK = [
    "[64:ff9b::7f00:1]",  # NAT64, well-known prefix
    "[64:ff9b:1::7f00:1]",  # NAT64, local-use prefix
    "[::127.0.0.1]",  # IPv4-compatible
    "[2002:7f00:1::1]",  # 6to4
    "[::ffff:127.0.0.1]",  # IPv4-mapped
]


@pytest.mark.parametrize("host", EMBEDDED_LOOPBACK)
def test_ipv6_forms_of_loopback_are_refused_when_only_127_0_0_1_is_allowed(
    api, upstream, settings, host
):
    """Issue 9 point 14: with REGISTRY_UPSTREAM_ALLOWED_NETWORKS exactly 127.0.0.1/32, an
    IPv6 address embedding 127.0.0.1 is 403 upstream_forbidden and nothing is sent;
    127.0.0.1 itself still answers."""
    settings.REGISTRY_UPSTREAM_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    load(DOCUMENT, base_uri=upstream.url, name="limits")
    assert api.get("/rest/limits/raw").status_code == 200
    assert len(upstream.received) == 1
    port = upstream.url.rsplit(":", 1)[1]
    load(DOCUMENT, base_uri=f"http://{host}:{port}", name="limits")
    problem(api.get("/rest/limits/raw"), 403, "upstream_forbidden")
    assert len(upstream.received) == 1


# --------------------------------------------------------------------------- point 16


def test_a_large_document_without_aliases_names_the_value_limit(tmp_path: Path):
    """Issue 9 point 16: a plain document of 600,000 values is refused for its size in
    values, naming the limit, without a word about aliases."""
    path = tmp_path / "large.yaml"
    path.write_text(
        "naftiko: 1.0.0-alpha2\ninfo:\n  label: large\n  x: [" + "1," * 600_000 + "1]\n"
    )
    result = run_command("import_capability", str(path))
    assert result.code == 1
    assert re.search(rf"^{re.escape(str(path))}:\d+:\d+: ", result.stderr, re.M), result.stderr
    assert "500,000 values" in result.stderr
    assert "alias" not in result.stderr.lower()


# --------------------------------------------------------------------------- RSS (2, 3)


def worker_rss(master_pid: int) -> int:
    """The resident memory (bytes) of the gunicorn master's only worker."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    assert len(children) == 1, children
    status = Path(f"/proc/{children[0]}/status").read_text()
    kilobytes = int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)[1])
    return kilobytes * 1024


@pytest.mark.processes
def test_a_worker_serving_oversized_answers_stays_within_50_mb(tmp_path, hostile_upstream):
    """Issue 9 points 2 and 3: a real gunicorn worker serving 200 MB answers (mapped and
    passed through), a gzip bomb, a YAML alias bomb, a 45 MB CSV and nesting bombs
    answers 502 each, and its resident memory rises by less than 50 MB."""
    registry = RegistryProcess(tmp_path)
    try:
        registry.import_document(DOCUMENT, name="limits", base_uri=hostile_upstream.url)
        web = registry.start_web()
        master = registry.processes[-1].pid
        import httpx

        small = {
            "/raw": hostile.fixed(b"{}"),
            "/json": hostile.fixed(b'{"data": {"a": 1}}'),
            "/yaml": hostile.fixed(b"a: 1\n", content_type="application/yaml"),
            "/csv": hostile.fixed(b"a\n1\n", content_type="text/csv"),
            "/xml": hostile.fixed(b"<a>1</a>", content_type="application/xml"),
        }
        csv_size = 45 * MB // len(hostile.CSV_ROW) * len(hostile.CSV_ROW)
        oversized = [
            ("/raw", "/raw", hostile.stream(200 * MB, declare_length=False)),
            ("/raw", "/raw", hostile.stream(200 * MB)),
            ("/raw", "/raw", hostile.gzip_bomb(200 * MB)),
            ("/json", "/mapped", json_of(200 * MB, declare_length=False)),
            ("/json", "/mapped", json_of(200 * MB)),
            ("/json", "/forward/json", json_of(200 * MB, declare_length=False)),
            ("/json", "/steps", json_of(200 * MB, declare_length=False)),
            ("/yaml", "/yaml", hostile.fixed(hostile.yaml_alias_bomb())),
            (
                "/csv",
                "/csv",
                hostile.stream(csv_size, filler=hostile.CSV_ROW, declare_length=False),
            ),
            ("/csv", "/csv", hostile.stream(9 * MB, prefix=b"a,b\n", filler=b"1,\n")),
            ("/json", "/mapped", hostile.stream(9 * MB, prefix=b"[[]", filler=b",[]", suffix=b"]")),
            ("/json", "/mapped", hostile.fixed(hostile.deep_json(100_000))),
            ("/xml", "/xml", hostile.fixed(hostile.deep_xml(100_000))),
        ]
        with httpx.Client(base_url=web + "/rest/limits", timeout=120) as client:
            # Warm up: every route answered once, so imports and caches are in place.
            for _ in range(3):
                for path, behaviour in small.items():
                    hostile_upstream.route(path, behaviour)
                for _, path, _ in oversized:
                    assert client.get(path).status_code == 200, path
            before = worker_rss(master)
            answers = []
            for _ in range(2):
                for upstream_path, path, behaviour in oversized:
                    hostile_upstream.route(upstream_path, behaviour)
                    response = client.get(path)
                    answers.append((path, response.status_code, response.content[:1000]))
            after = worker_rss(master)
        assert after - before < 50 * MB, (
            f"RSS rose by {(after - before) / MB:.0f} MB",
            [(path, status) for path, status, _ in answers],
        )
        for path, status, content in answers:
            assert status == 502, (path, status, content)
            assert json.loads(content)["code"] in ("upstream_too_large", "upstream_too_complex")
    finally:
        registry.stop()
