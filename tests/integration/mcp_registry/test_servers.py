"""``GET /v0.1/servers`` and a server's versions, as the MCP Registry API reference says
(issue 13 point 4): shapes, paging, search, the server.json schema, errors."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

import pytest

from capabilities_app.core.errors import PROBLEM_JSON
from capabilities_app.store import serverjson
from capabilities_app.store.models import Capability
from tests.conftest import ROOT
from tests.integration.mcp_registry.conftest import (
    NAMESPACE,
    SCHEMA,
    import_text,
    schema_errors,
    server_path,
    small,
)

pytestmark = pytest.mark.django_db

FLEET = f"{NAMESPACE}/fleet-tools"
SEED_SERVERS = [
    f"{NAMESPACE}/fleet-tools",
    f"{NAMESPACE}/netbird-checkout-mcp",
    f"{NAMESPACE}/prefect-account-billing-mcp",
]


def names(body: dict) -> list[str]:
    return [item["server"]["name"] for item in body["servers"]]


def listing(client, **query) -> dict:
    response = client.get("/v0.1/servers", query)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM_JSON
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    return body


# --------------------------------------------------------------------------- the schema


def test_the_vendored_schema_is_the_published_copy_noted_in_source():
    """The schema is data with its source noted: the file is the one SOURCE.md names."""
    source = (ROOT / "capabilities_app" / "schemas" / "SOURCE.md").read_text()
    digest = hashlib.sha256(SCHEMA.read_bytes()).hexdigest()
    row = next(line for line in source.splitlines() if line.startswith(f"| {SCHEMA.name} "))
    assert digest in row
    assert serverjson.SCHEMA_URL in row
    assert f'"$id": "{serverjson.SCHEMA_URL}"' in SCHEMA.read_text()


def test_the_limits_the_builder_cuts_to_are_the_schemas():
    import json

    detail = json.loads(SCHEMA.read_text())["definitions"]["ServerDetail"]["properties"]
    assert detail["description"]["maxLength"] == serverjson.TEXT_MAX
    assert detail["title"]["maxLength"] == serverjson.TEXT_MAX
    assert detail["name"]["maxLength"] == serverjson.NAME_MAX


def test_every_listed_document_is_valid(client, seeds, tmp_path):
    """Both validators (jsonschema-rs in the registry, jsonschema here) accept every
    document; one with a long description and one with its own authentication too."""
    import_text(tmp_path, "wordy", small("wordy", description="word " * 80, label="L" * 150))
    auth = "    authentication: {type: bearer, token: '{{WORDY_TOKEN}}'}\n"
    import_text(tmp_path, "guarded", small("guarded", authentication=auth))
    body = listing(client, limit=100)
    assert len(body["servers"]) == 5
    for item in body["servers"]:
        assert schema_errors(item["server"]) == [], item["server"]["name"]
        serverjson.validate(item["server"])


def test_an_invalid_document_is_refused_by_the_validator():
    """The validator is not vacuous: a name without its '/' and a long description fail."""
    with pytest.raises(serverjson.ServerJsonInvalid, match="description"):
        serverjson.validate({"name": "a/b", "description": "x" * 101, "version": "1.0.1"})
    with pytest.raises(serverjson.ServerJsonInvalid, match="name"):
        serverjson.validate({"name": "no-slash", "description": "x", "version": "1.0.1"})


# --------------------------------------------------------------------------- one document


def test_the_fleet_server(client, seeds):
    body = client.get(server_path(FLEET, "/versions/latest")).json()
    assert body == {
        "server": {
            "$schema": serverjson.SCHEMA_URL,
            "name": FLEET,
            "title": "Shipyard Fleet",
            "description": "Tools over the demo fleet registry.",
            "version": "1.0.1",
            "websiteUrl": "https://registry.example.test/catalog/shipyard-fleet/",
            "remotes": [
                {"type": "streamable-http", "url": "https://mcp.example.test/mcp/fleet-tools/mcp"}
            ],
        },
        "_meta": {
            "io.modelcontextprotocol.registry/official": {
                "status": "active",
                "publishedAt": body["_meta"]["io.modelcontextprotocol.registry/official"][
                    "publishedAt"
                ],
                "updatedAt": body["_meta"]["io.modelcontextprotocol.registry/official"][
                    "updatedAt"
                ],
                "isLatest": True,
            }
        },
    }
    official = body["_meta"]["io.modelcontextprotocol.registry/official"]
    fleet = Capability.objects.get(name="shipyard-fleet")
    assert datetime.fromisoformat(official["publishedAt"]) == fleet.revised_at
    assert datetime.fromisoformat(official["updatedAt"]) == fleet.changed_at
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", official["updatedAt"])


def test_a_long_description_and_title_are_cut_to_the_limit(client, namespace, tmp_path):
    words = "Lists every item of the warehouse with its stock, its bin and its supplier " * 3
    import_text(tmp_path, "wordy", small("wordy", description=words, label="T" * 150))
    server = client.get(server_path(f"{NAMESPACE}/wordy-tools", "/versions/latest")).json()
    server = server["server"]
    assert len(server["description"]) <= 100
    assert server["description"].endswith("…")
    assert words.startswith(server["description"][:-1])
    assert len(server["title"]) == 100


def test_the_name_is_url_encoded_or_not(client, seeds):
    """The reference encodes the name's '/' as %2F; a plain '/' reaches the same server."""
    encoded = client.get(server_path(FLEET))
    plain = client.get(f"/v0.1/servers/{FLEET}/versions")
    assert encoded.status_code == plain.status_code == 200
    assert encoded.json() == plain.json()


def test_versions_and_a_version(client, seeds):
    versions = client.get(server_path(FLEET)).json()
    assert names(versions) == [FLEET]
    assert versions["metadata"] == {"count": 1}
    (item,) = versions["servers"]
    assert item["server"]["version"] == "1.0.1"
    assert client.get(server_path(FLEET, "/versions/1.0.1")).json() == item
    assert client.get(server_path(FLEET, "/versions/latest")).json() == item


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "path",
    [
        server_path(f"{NAMESPACE}/no-such-tools"),
        server_path(f"{NAMESPACE}/no-such-tools", "/versions/latest"),
        server_path("org.other/fleet-tools"),  # another registry's namespace
        server_path(FLEET, "/versions/1.0.2"),  # a version it does not have
        server_path(FLEET, "/versions/2.0"),
    ],
)
def test_unknown_server_or_version_is_404(client, seeds, path):
    body = assert_problem(client.get(path), 404, "server_not_found")
    assert body["error"] == body["detail"]  # the reference's {"error": ...} too


def test_a_rest_expose_is_not_a_server(client, seeds):
    assert_problem(client.get(server_path(f"{NAMESPACE}/fleet-api")), 404, "server_not_found")


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"limit": "-1"},
        {"cursor": "not-a-cursor"},
        {"cursor": serverjson.encode_cursor("no-slash")},
        {"updated_since": "yesterday"},
        {"updated_since": "2025-08-07"},  # a date, not a date-time
        {"updated_since": "2025-08-07T13:15:04"},  # no offset
    ],
)
def test_bad_query_is_400(client, seeds, query):
    assert_problem(client.get("/v0.1/servers", query), 400, "invalid_parameter")


def test_only_get_and_head(client, seeds):
    body = assert_problem(client.post("/v0.1/servers"), 405, "method_not_allowed")
    assert "GET" in body["detail"]
    head = client.head("/v0.1/servers")
    assert head.status_code == 200
    assert head.content == b""


def test_other_paths_are_problem_404s(client, seeds):
    for path in ("/v0.1/", "/v0.1/servers/", "/v0.1/publish", f"/v0.1/servers/{FLEET}"):
        assert_problem(client.get(path), 404, "route_not_found")


# --------------------------------------------------------------------------- the list


def test_list_shape(client, seeds):
    body = listing(client)
    assert names(body) == SEED_SERVERS
    assert body["metadata"] == {"count": 3}  # no nextCursor: nothing follows
    for item in body["servers"]:
        assert set(item) == {"server", "_meta"}
        official = item["_meta"]["io.modelcontextprotocol.registry/official"]
        assert official["status"] == "active"
        assert official["isLatest"] is True


def test_paging_across_several_pages(client, namespace, tmp_path):
    created = [f"{NAMESPACE}/cap-{i:02d}-tools" for i in range(11)]
    for i in range(11):
        import_text(tmp_path, f"cap-{i:02d}", small(f"cap-{i:02d}"))
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = listing(client, **query)
        pages += 1
        assert body["metadata"]["count"] == len(body["servers"])
        seen += names(body)
        cursor = body["metadata"].get("nextCursor")
        if not cursor:
            break
        assert len(body["servers"]) == 3
    assert pages == 4
    assert seen == created  # every server once, in order
    assert listing(client, limit=100)["metadata"] == {"count": 11}


def test_paging_goes_on_after_a_server_disappears(client, namespace, tmp_path):
    """A cursor names where a page ended, not a position: a server disabled between two
    pages moves nothing."""
    for i in range(4):
        import_text(tmp_path, f"cap-{i}", small(f"cap-{i}"))
    first = listing(client, limit=2)
    assert names(first) == [f"{NAMESPACE}/cap-0-tools", f"{NAMESPACE}/cap-1-tools"]
    Capability.objects.filter(name="cap-1").update(enabled=False)
    second = listing(client, limit=2, cursor=first["metadata"]["nextCursor"])
    assert names(second) == [f"{NAMESPACE}/cap-2-tools", f"{NAMESPACE}/cap-3-tools"]


def test_the_default_page_is_30(client, namespace, tmp_path):
    for i in range(31):
        import_text(tmp_path, f"cap-{i:02d}", small(f"cap-{i:02d}"))
    body = listing(client)
    assert body["metadata"]["count"] == 30
    assert names(listing(client, cursor=body["metadata"]["nextCursor"])) == [
        f"{NAMESPACE}/cap-30-tools"
    ]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("fleet", [FLEET]),
        ("FLEET", [FLEET]),  # any case
        ("-mcp", SEED_SERVERS[1:]),
        ("registry/fleet", [FLEET]),  # across the namespace's '/'
        (NAMESPACE, SEED_SERVERS),
        ("nothing-like-it", []),
        ("%", []),  # data, not a pattern
        ("_", []),
    ],
)
def test_search_is_a_substring_of_the_name(client, seeds, search, expected):
    assert names(listing(client, search=search)) == expected


def test_version_filter(client, seeds):
    assert names(listing(client, version="latest")) == SEED_SERVERS
    assert names(listing(client, version="1.0.1")) == SEED_SERVERS
    assert names(listing(client, version="1.0.2")) == []
    assert names(listing(client, version="9")) == []


def test_search_and_paging_together(client, namespace, tmp_path):
    for i in range(5):
        import_text(tmp_path, f"odd-{i}", small(f"odd-{i}"))
        import_text(tmp_path, f"even-{i}", small(f"even-{i}"))
    first = listing(client, search="odd", limit=3)
    second = listing(client, search="odd", limit=3, cursor=first["metadata"]["nextCursor"])
    assert names(first) + names(second) == [f"{NAMESPACE}/odd-{i}-tools" for i in range(5)]
    assert "nextCursor" not in second["metadata"]


def test_a_disabled_capability_is_absent(client, seeds):
    Capability.objects.filter(name="shipyard-fleet").update(enabled=False)
    assert FLEET not in names(listing(client))
    assert_problem(client.get(server_path(FLEET)), 404, "server_not_found")


def test_a_shared_consumes_document_is_no_server(client, seeds):
    from tests.conftest import CORPUS

    shared = CORPUS / "naftiko__framework" / "tutorial" / "shared" / "step5-registry-consumes.yaml"
    assert run_import(shared)
    assert names(listing(client)) == SEED_SERVERS


def run_import(path) -> bool:
    from tests.conftest import run_command

    return run_command("import_capability", str(path)).code == 0


def test_the_namespace_setting_names_the_servers(client, seeds, settings):
    settings.REGISTRY_MCP_NAMESPACE = "io.github.someone"
    assert names(listing(client))[0] == "io.github.someone/fleet-tools"
    assert client.get(server_path("io.github.someone/fleet-tools")).status_code == 200
    assert_problem(client.get(server_path(FLEET)), 404, "server_not_found")
