"""REST routes: path regexes, matching, 404 and 405 (RUNTIME-CONTRACT §4 to §5), no database."""

from __future__ import annotations

import pytest

from capabilities_app.core.errors import MethodNotAllowed, RouteNotFound
from capabilities_app.core.paths import PathTemplate
from capabilities_app.runtime import routing
from capabilities_app.runtime.callers import normalise
from capabilities_app.runtime.catalog import Catalog, Route
from capabilities_app.runtime.routing import REST_OF_PATH
from capabilities_app.runtime.routing import route_regex as _route_regex

OP = object()  # stands in for an Operation: match only looks at the method keys


def route(path: str, *methods: str, namespace: str = "shipyard", forward: bool = False) -> Route:
    regex, variables = _route_regex(path, forward=forward)
    built = Route(namespace, path, regex, variables, methods={m: OP for m in methods or ("GET",)})
    if forward:
        built.forward = object()  # any forward target; match only checks it is set
    return built


def catalog_of(*routes: Route) -> Catalog:
    result = Catalog(version=1)
    for r in routes:
        result.routes.setdefault(r.namespace, []).append(r)
    return result


class TestRouteRegex:
    @pytest.mark.parametrize("path", ["/ships/{imo}", "/ships/{{imo}}", "/ships/{ imo }"])
    def test_a_variable_is_exactly_one_segment(self, path):
        regex, variables = _route_regex(path, forward=False)
        assert variables == ("imo",)
        assert regex.fullmatch("/ships/IMO-9321483").groups() == ("IMO-9321483",)
        assert regex.fullmatch("/ships/a/b") is None
        assert regex.fullmatch("/ships/") is None
        assert regex.fullmatch("/ships") is None

    def test_several_variables(self):
        regex, variables = _route_regex("/ships/{{imo}}/voyages/{voyage-id}", forward=False)
        assert variables == ("imo", "voyage-id")
        assert regex.fullmatch("/ships/IMO-1/voyages/V-9").groups() == ("IMO-1", "V-9")
        assert regex.fullmatch("/ships/IMO-1/voyages") is None

    def test_a_variable_inside_a_segment(self):
        regex, variables = _route_regex("/reports/{year}.json", forward=False)
        assert variables == ("year",)
        assert regex.fullmatch("/reports/2026.json").groups() == ("2026",)
        assert regex.fullmatch("/reports/2026xjson") is None

    @pytest.mark.parametrize(
        ("path", "matching", "not_matching"),
        [
            ("/v1.0/ships", "/v1.0/ships", "/v1x0/ships"),
            ("/ships+crew", "/ships+crew", "/shipsscrew"),
            ("/a(b)", "/a(b)", "/ab"),
            ("/what?", "/what?", "/wha"),
            ("/star*", "/star*", "/starrr"),
            ("/[x]", "/[x]", "/x"),
            ("/a|b", "/a|b", "/b"),
            ("/$id^", "/$id^", "/id"),
        ],
    )
    def test_literal_segments_are_escaped(self, path, matching, not_matching):
        regex, variables = _route_regex(path, forward=False)
        assert variables == ()
        assert regex.fullmatch(matching)
        assert regex.fullmatch(not_matching) is None

    @pytest.mark.parametrize("path", ["/ships", "ships", "/ships/", "ships/", "//ships//"])
    def test_slashes_around_the_declared_path_do_not_matter(self, path):
        regex, _ = _route_regex(path, forward=False)
        assert regex.pattern == "/ships"

    @pytest.mark.parametrize("path", ["/", "", "//"])
    def test_root(self, path):
        regex, variables = _route_regex(path, forward=False)
        assert variables == ()
        assert regex.fullmatch("/")
        assert regex.fullmatch("/x") is None

    def test_forward_last_variable_takes_the_rest_of_the_path(self):
        regex, variables = _route_regex("/forward/{{path}}", forward=True)
        assert variables == ("path",)
        assert regex.fullmatch("/forward/a").groups() == ("a",)
        assert regex.fullmatch("/forward/a/b/c").groups() == ("a/b/c",)
        assert regex.fullmatch("/forwardx/a") is None

    def test_forward_without_variables_captures_the_remainder(self):
        regex, variables = _route_regex("/proxy", forward=True)
        assert variables == (REST_OF_PATH,)
        assert regex.fullmatch("/proxy").groups() == (None,)
        assert regex.fullmatch("/proxy/a/b").groups() == ("/a/b",)
        assert regex.fullmatch("/proxyx") is None

    def test_forward_with_a_variable_not_at_the_end(self):
        regex, variables = _route_regex("/tenants/{tenant}/api", forward=True)
        assert variables == ("tenant", REST_OF_PATH)
        assert regex.fullmatch("/tenants/t1/api/x/y").groups() == ("t1", "/x/y")
        assert regex.fullmatch("/tenants/t1/t2/api") is None

    def test_forward_at_the_root(self):
        regex, variables = _route_regex("/", forward=True)
        assert variables == (REST_OF_PATH,)
        assert regex.fullmatch("/")
        assert regex.fullmatch("/a/b").groups() == ("/a/b",)

    def test_plain_routes_do_not_capture_the_rest(self):
        regex, variables = _route_regex("/forward/{{path}}", forward=False)
        assert variables == ("path",)
        assert regex.fullmatch("/forward/a/b") is None


class TestMatch:
    def test_match_gives_the_route_and_variables(self):
        ships = route("/ships", "GET")
        ship = route("/ships/{{imo}}", "GET", "DELETE")
        found, values = catalog_of(ships, ship).match("GET", "shipyard/ships/IMO-9321483")
        assert found is ship
        assert values == {"imo": "IMO-9321483"}
        assert catalog_of(ships, ship).match("GET", "shipyard/ships") == (ships, {})

    @pytest.mark.parametrize(
        "path", ["shipyard/ships", "/shipyard/ships", "shipyard/ships/", "/shipyard/ships///"]
    )
    def test_trailing_and_leading_slashes_are_tolerated(self, path):
        ships = route("/ships", "GET")
        assert catalog_of(ships).match("GET", path) == (ships, {})

    def test_trailing_slash_after_a_variable(self):
        ship = route("/ships/{imo}", "GET")
        assert catalog_of(ship).match("GET", "shipyard/ships/IMO-1/")[1] == {"imo": "IMO-1"}

    @pytest.mark.parametrize("path", ["shipyard", "shipyard/", "/shipyard/"])
    def test_namespace_root(self, path):
        root = route("/", "GET")
        assert catalog_of(root).match("GET", path) == (root, {})

    @pytest.mark.parametrize(
        "path",
        [
            "nowhere/ships",
            "shipyard/boats",
            "shipyard/ships/IMO-1/extra",
            "shipyard",
            "",
            "ships",
        ],
    )
    def test_unknown_namespace_or_path_is_404(self, path):
        with pytest.raises(RouteNotFound) as exc:
            catalog_of(route("/ships/{imo}", "GET")).match("GET", path)
        assert exc.value.code == "route_not_found"
        assert exc.value.status == 404

    def test_404_names_the_path(self):
        with pytest.raises(RouteNotFound, match="/rest/shipyard/boats"):
            catalog_of(route("/ships")).match("GET", "/shipyard/boats/")

    def test_namespaces_are_separate(self):
        other = route("/ships", "GET", namespace="dockyard")
        with pytest.raises(RouteNotFound):
            catalog_of(other).match("GET", "shipyard/ships")
        assert catalog_of(other).match("GET", "dockyard/ships")[0] is other

    def test_unknown_method_is_405_with_the_allowed_methods(self):
        ship = route("/ships/{imo}", "GET", "PUT")
        with pytest.raises(MethodNotAllowed) as exc:
            catalog_of(ship).match("POST", "shipyard/ships/IMO-1")
        assert exc.value.code == "method_not_allowed"
        assert exc.value.status == 405
        assert exc.value.allowed == ["GET", "PUT"]
        assert "POST" in exc.value.detail

    def test_405_lists_the_methods_of_every_route_matching_the_path(self):
        by_variable = route("/ships/{imo}", "GET", "DELETE")
        literal = route("/ships/search", "POST", "GET")
        other = route("/crew/{id}", "PATCH")
        with pytest.raises(MethodNotAllowed) as exc:
            catalog_of(by_variable, literal, other).match("PUT", "shipyard/ships/search")
        assert exc.value.allowed == ["GET", "DELETE", "POST"]

    def test_a_later_route_with_the_method_wins_over_405(self):
        by_variable = route("/ships/{imo}", "GET")
        literal = route("/ships/search", "POST")
        found, values = catalog_of(by_variable, literal).match("POST", "shipyard/ships/search")
        assert found is literal
        assert values == {}

    def test_the_first_matching_route_with_the_method_wins(self):
        by_variable = route("/ships/{imo}", "GET")
        literal = route("/ships/search", "GET")
        found, values = catalog_of(by_variable, literal).match("GET", "shipyard/ships/search")
        assert found is by_variable
        assert values == {"imo": "search"}

    def test_head_runs_get(self):
        ship = route("/ships/{imo}", "GET")
        assert catalog_of(ship).match("HEAD", "shipyard/ships/IMO-1")[0] is ship

    def test_head_without_get_is_405(self):
        with pytest.raises(MethodNotAllowed) as exc:
            catalog_of(route("/ships", "POST")).match("HEAD", "shipyard/ships")
        assert exc.value.allowed == ["POST"]

    def test_decoded_path_splits_on_a_decoded_slash(self):
        ship = route("/ships/{imo}", "GET")
        with pytest.raises(RouteNotFound):
            catalog_of(ship).match("GET", "shipyard/ships/a/b")

    def test_encoded_keeps_an_encoded_slash_inside_one_segment(self):
        ship = route("/ships/{imo}", "GET")
        found, values = catalog_of(ship).match("GET", "shipyard/ships/a%2Fb", encoded=True)
        assert found is ship
        assert values == {"imo": "a/b"}

    def test_encoded_decodes_variables_afterwards(self):
        ship = route("/ships/{imo}/crew/{name}", "GET")
        _, values = catalog_of(ship).match(
            "GET", "shipyard/ships/IMO%201/crew/%C3%85se%3F", encoded=True
        )
        assert values == {"imo": "IMO 1", "name": "Åse?"}

    def test_encoded_namespace_is_decoded(self):
        ships = route("/ships", "GET", namespace="ship yard")
        assert catalog_of(ships).match("GET", "ship%20yard/ships", encoded=True)[0] is ships

    def test_without_encoded_a_percent_sequence_is_kept(self):
        ship = route("/ships/{imo}", "GET")
        _, values = catalog_of(ship).match("GET", "shipyard/ships/a%2Fb")
        assert values == {"imo": "a%2Fb"}

    def test_encoded_literal_segments_match_their_decoded_text(self):
        spaced = route("/my items/{id}")
        found, values = catalog_of(spaced).match("GET", "shipyard/my%20items/a%2Fb", encoded=True)
        assert (found, values) == (spaced, {"id": "a/b"})

    def test_encoded_percent_sequences_are_decoded_once(self):
        ships = route("/ships/{imo}")
        _, values = catalog_of(ships).match("GET", "shipyard/ships/100%2525", encoded=True)
        assert values == {"imo": "100%25"}

    def test_encoded_404_shows_the_decoded_path(self):
        with pytest.raises(RouteNotFound, match="/rest/shipyard/no such"):
            catalog_of(route("/ships")).match("GET", "shipyard/no%20such", encoded=True)

    def test_forward_route_takes_the_rest_of_the_path(self):
        forward = route("/forward/{{path}}", "GET", forward=True)
        found, values = catalog_of(forward).match("GET", "shipyard/forward/v1/ships/IMO-1")
        assert found is forward
        assert values == {"path": "v1/ships/IMO-1"}

    def test_forward_route_answers_every_method(self):
        forward = route("/forward/{{path}}", "GET", forward=True)
        for method in ("POST", "DELETE", "PATCH"):
            assert catalog_of(forward).match(method, "shipyard/forward/x")[0] is forward

    def test_forward_route_with_encoded_slashes(self):
        forward = route("/forward/{{path}}", forward=True)
        _, values = catalog_of(forward).match("GET", "shipyard/forward/a%2Fb/c", encoded=True)
        assert values == {"path": "a/b/c"}

    def test_forward_without_variables(self):
        forward = route("/proxy", forward=True)
        cat = catalog_of(forward)
        assert cat.match("GET", "shipyard/proxy/a/b") == (forward, {REST_OF_PATH: "/a/b"})
        assert cat.match("GET", "shipyard/proxy") == (forward, {REST_OF_PATH: ""})
        assert cat.match("GET", "shipyard/proxy/") == (forward, {REST_OF_PATH: ""})
        assert routing.REST_OF_PATH == "__rest__"

    def test_forward_at_the_namespace_root(self):
        forward = route("/", forward=True)
        cat = catalog_of(forward)
        assert cat.match("GET", "shipyard/a/b")[1] == {REST_OF_PATH: "/a/b"}
        assert cat.match("GET", "shipyard")[0] is forward

    def test_an_operation_route_is_preferred_when_listed_first(self):
        ships = route("/proxy/ships", "GET")
        forward = route("/proxy", forward=True)
        cat = catalog_of(ships, forward)
        assert cat.match("GET", "shipyard/proxy/ships")[0] is ships
        assert cat.match("POST", "shipyard/proxy/ships")[0] is forward


class TestNames:
    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("account-id", "accountid"),
            ("account_id", "accountid"),
            ("accountId", "accountid"),
            ("ACCOUNT_ID", "accountid"),
            ("a-b_c-D", "abcd"),
            ("plain", "plain"),
            ("", ""),
        ],
    )
    def test_normalise(self, name, expected):
        assert normalise(name) == expected

    def test_normalised_names_compare_loosely(self):
        assert normalise("{account-id}".strip("{}")) == normalise("account_id")
        assert normalise("accountid") == normalise("accountId")

    @pytest.mark.parametrize(
        ("path", "variables"),
        [
            ("/ships", ()),
            ("/ships/{imo}", ("imo",)),
            ("/ships/{{imo_number}}", ("imo_number",)),
            ("/ships/{ imo }/crew/{{ crew-id }}", ("imo", "crew-id")),
            ("/{a}{b}", ("a", "b")),
            ("{{ns.VAR}}/x", ("ns.VAR",)),
            ("", ()),
        ],
    )
    def test_path_template_variables(self, path, variables):
        assert PathTemplate.parse(path).variables == variables

    def test_path_template_parts_alternate_literal_and_name(self):
        template = PathTemplate.parse("/ships/{{imo}}/voyages/{id}")
        assert template.parts == ("/ships/", "imo", "/voyages/", "id", "")


class TestOneMatcher:
    """REST routes and MCP resource URI templates match through one ``PathTemplate``."""

    @pytest.mark.parametrize(
        ("template", "uri", "values"),
        [
            ("fleet://ships/{imo}", "fleet://ships/9321483", {"imo": "9321483"}),
            ("fleet://ships/{imo}/crew/{id}", "fleet://ships/1/crew/7", {"imo": "1", "id": "7"}),
            ("docs://{name}.md", "docs://readme.md", {"name": "readme"}),
            ("fleet://ships/{imo}", "fleet://ships/1%2F2", {"imo": "1%2F2"}),
            ("fleet://ships/{imo}", "fleet://ships/1/2", None),
            ("fleet://ships/{imo}", "fleet://ships/", None),
        ],
    )
    def test_a_template_matches_each_variable_as_one_segment(self, template, uri, values):
        """Issue 11 point 1: one path-template matcher; a variable is one segment, as sent."""
        assert PathTemplate.parse(template).match(uri) == values

    def test_a_resource_uri_variable_keeps_its_name_as_written(self):
        """Issue 11 point 1: an MCP resource template's ``{voyage-id}`` is named
        ``voyage-id`` (the matcher it had before escaped it to ``voyage\\-id``)."""
        from capabilities_app.mcp.server import match_uri

        assert match_uri("fleet://voyages/{voyage-id}", "fleet://voyages/a%20b") == {
            "voyage-id": "a b"
        }
        assert match_uri("fleet://ships", "fleet://ships") == {}
        assert match_uri("fleet://ships", "fleet://ships/1") is None

    def test_the_route_regex_is_the_template_pattern(self):
        """Issue 11 point 1: a REST route's regex is built from the same template pattern."""
        regex, variables = _route_regex("/ships/{imo}/voyages/{{voyage-id}}", forward=False)
        template = PathTemplate.parse("/ships/{imo}/voyages/{{voyage-id}}")
        assert regex.pattern == template.pattern()
        assert variables == template.variables
