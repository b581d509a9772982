"""The demo fleet upstream that `make demo` and the REST benchmark call."""

from __future__ import annotations

from capabilities_app.management.demo_upstream import answer

TOKEN = "demo-fleet-token"
BEARER = f"Bearer {TOKEN}"


def test_a_missing_or_wrong_token_is_401():
    assert answer("GET", "/ships", None, TOKEN)[0] == 401
    assert answer("GET", "/ships", "Bearer nope", TOKEN)[0] == 401


def test_ships_filtered_by_status():
    status, _, ships = answer("GET", "/ships?status=laid_up", BEARER, TOKEN)
    assert status == 200
    assert ships and {s["operational_status"] for s in ships} == {"laid_up"}
    _, _, everything = answer("GET", "/ships", BEARER, TOKEN)
    assert len(everything) > len(ships)


def test_one_ship_and_an_unknown_one():
    status, _, ship = answer("GET", "/ships/IMO9321483", BEARER, TOKEN)
    assert (status, ship["imo_number"]) == (200, "IMO9321483")
    assert answer("GET", "/ships/IMO0000000", BEARER, TOKEN)[0] == 404


def test_only_reads():
    status, headers, _ = answer("POST", "/ships", BEARER, TOKEN)
    assert (status, headers["Allow"]) == (405, "GET, HEAD")
