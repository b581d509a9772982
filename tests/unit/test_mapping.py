"""Upstream bodies to data and output parameters to results (RUNTIME-CONTRACT §5)."""

from __future__ import annotations

import json

import pytest
import yaml

from capabilities_app.core.errors import UpstreamInvalid
from capabilities_app.runtime.mapping import decode, is_pass_through, map_outputs, select
from capabilities_app.runtime.templating import mapping_layer, render
from tests.conftest import CORPUS

TUTORIAL = CORPUS / "naftiko__framework" / "tutorial"


def tutorial(name: str) -> dict:
    return yaml.safe_load((TUTORIAL / name).read_text(encoding="utf-8"))


def tool(document: dict, name: str, expose: str = "shipyard-tools") -> dict:
    for exp in document["capability"]["exposes"]:
        if exp.get("namespace") == expose:
            for candidate in exp.get("tools", ()):
                if candidate["name"] == name:
                    return candidate
    raise LookupError(name)


STEP4 = tutorial("step-4-shipyard-output-shaping.yml")
STEP10 = tutorial("step-10-shipyard-rest-adapter.yml")

# Shaped like the Maritime Registry mock's answers.
NORTHERN_STAR = {
    "imo_number": "IMO-9321483",
    "vessel_name": "Northern Star",
    "vessel_type": "cargo",
    "flag_code": "NO",
    "operational_status": "active",
    "year_built": 2008,
    "gross_tonnage": 51200,
    "dimensions": {"length_overall": 289.5, "beam": 45.0},
    "assignedCrew": ["CREW-001", "CREW-002"],
    "internal_notes": "not for callers",
}
SEA_BREEZE = {
    "imo_number": "IMO-9456712",
    "vessel_name": "Sea Breeze",
    "vessel_type": "tanker",
    "flag_code": "PA",
    "operational_status": "maintenance",
    "year_built": 2015,
    "gross_tonnage": 30400,
    "dimensions": {"length_overall": 228.0},
}


class TestPassThrough:
    @pytest.mark.parametrize(
        "outputs",
        [
            [{"type": "object", "mapping": "$."}],
            [{"type": "object", "mapping": "$"}],
            [{"type": "array", "mapping": "$."}],
            [{"mapping": "$."}],
            [{"name": "result", "type": "object", "mapping": "$."}],
        ],
    )
    def test_true(self, outputs):
        assert is_pass_through(outputs)

    @pytest.mark.parametrize(
        "outputs",
        [
            None,
            [],
            [{"type": "object", "mapping": "$.data"}],
            [{"type": "object"}],
            [{"type": "object", "mapping": "$.", "properties": {"a": {"mapping": "$.a"}}}],
            [{"type": "array", "mapping": "$.", "items": {"type": "string", "mapping": "$."}}],
            [{"type": "string", "mapping": "$."}],
            [{"type": "object", "mapping": "$.", "value": "x"}],
            [{"type": "object", "mapping": "$.", "const": 1}],
            [{"type": "object", "mapping": "$."}, {"type": "object", "mapping": "$."}],
            ["$."],
        ],
    )
    def test_false(self, outputs):
        assert not is_pass_through(outputs)

    def test_step4_trees_are_not_pass_through(self):
        assert not is_pass_through(tool(STEP4, "get-ship")["outputParameters"])
        assert not is_pass_through(tool(STEP4, "list-ships")["outputParameters"])


class TestDecode:
    def test_json(self):
        assert decode(b'{"a": [1, 2.5, null, true]}', "json") == {"a": [1, 2.5, None, True]}

    @pytest.mark.parametrize("fmt", [None, "", "JSON", "json"])
    def test_json_is_the_default(self, fmt):
        assert decode(b"[1]", fmt) == [1]

    @pytest.mark.parametrize("content", [b"", b"  \n\t"])
    def test_empty_json_body_is_none(self, content):
        assert decode(content, "json") is None

    def test_json_with_a_byte_order_mark(self):
        assert decode(b"\xef\xbb\xbf" + b'{"a": 1}', "json") == {"a": 1}

    @pytest.mark.parametrize(
        "content", [b"{not json", b"<html>oops</html>", b'{"a": 1} trailing', b"\xff\xfe\x00"]
    )
    def test_invalid_json_is_output_invalid(self, content):
        with pytest.raises(UpstreamInvalid) as exc:
            decode(content, "json")
        assert exc.value.code == "upstream_invalid"
        assert exc.value.status == 502
        assert "json" in exc.value.detail

    def test_xml(self):
        data = decode(
            b'<?xml version="1.0"?><vessels count="2"><vessel><name>A</name></vessel>'
            b"<vessel><name>B</name></vessel></vessels>",
            "xml",
        )
        assert data == {
            "vessels": {"@count": "2", "vessel": [{"name": "A"}, {"name": "B"}]},
        }

    def test_xml_byte_order_mark(self):
        assert decode(b"\xef\xbb\xbf<a>1</a>", "xml") == {"a": "1"}

    def test_xml_entity_expansion_is_refused(self):
        bomb = (
            b'<?xml version="1.0"?>\n'
            b"<!DOCTYPE lolz [\n"
            b' <!ENTITY lol "lol">\n'
            b' <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
            b' <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">\n'
            b' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n'
            b"]>\n"
            b"<lolz>&lol3;</lolz>"
        )
        with pytest.raises(UpstreamInvalid) as exc:
            decode(bomb, "xml")
        assert exc.value.code == "upstream_invalid"
        assert exc.value.status == 502

    def test_xml_external_entity_is_refused(self, tmp_path):
        secret = tmp_path / "secret.txt"
        secret.write_text("TOP-SECRET")
        xxe = (
            f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]><r>&x;</r>'
        ).encode()
        with pytest.raises(UpstreamInvalid):
            decode(xxe, "xml")

    @pytest.mark.parametrize("content", [b"<a><b></a>", b"not xml at all", b""])
    def test_malformed_xml_is_output_invalid(self, content):
        with pytest.raises(UpstreamInvalid) as exc:
            decode(content, "xml")
        assert exc.value.status == 502

    @pytest.mark.parametrize(
        ("fmt", "content"),
        [
            ("csv", b'imo,name\nIMO-1,Northern Star\nIMO-2,"Sea, Breeze"\n'),
            ("tsv", b"imo\tname\nIMO-1\tNorthern Star\nIMO-2\tSea, Breeze\n"),
            ("psv", b"imo|name\nIMO-1|Northern Star\nIMO-2|Sea, Breeze\n"),
            ("CSV", b'\xef\xbb\xbfimo,name\r\nIMO-1,Northern Star\r\nIMO-2,"Sea, Breeze"\r\n'),
        ],
    )
    def test_delimited_text_is_a_list_of_dicts(self, fmt, content):
        assert decode(content, fmt) == [
            {"imo": "IMO-1", "name": "Northern Star"},
            {"imo": "IMO-2", "name": "Sea, Breeze"},
        ]

    def test_csv_header_only_is_an_empty_list(self):
        assert decode(b"imo,name\n", "csv") == []

    def test_csv_field_too_large_is_output_invalid(self):
        content = b'a\n"' + b"x" * 200_000 + b'"\n'
        with pytest.raises(UpstreamInvalid):
            decode(content, "csv")

    def test_yaml(self):
        assert decode(b"ships:\n  - imo: IMO-1\n    year: 2008\n", "yaml") == {
            "ships": [{"imo": "IMO-1", "year": 2008}]
        }

    def test_yaml_refuses_python_tags(self):
        with pytest.raises(UpstreamInvalid):
            decode(b"!!python/object/apply:os.system ['true']\n", "yaml")

    def test_invalid_yaml_is_output_invalid(self):
        with pytest.raises(UpstreamInvalid):
            decode(b"a: [unclosed\n", "yaml")

    @pytest.mark.parametrize("fmt", ["text", "html", "protobuf", "yml-ish"])
    def test_unknown_formats_stay_text(self, fmt):
        assert decode("héllo <b>".encode(), fmt) == "héllo <b>"

    def test_unknown_format_with_invalid_utf8_is_replaced(self):
        assert decode(b"a\xffb", "text") == "a\ufffdb"

    def test_non_utf8_text_format_is_output_invalid(self):
        with pytest.raises(UpstreamInvalid):
            decode(b"a,b\n\xff,\xfe\n", "csv")


DOC = {"data": {"ships": [NORTHERN_STAR, SEA_BREEZE]}, "count": 2, "empty": None}


class TestSelect:
    @pytest.mark.parametrize("path", ["$", "$."])
    def test_root(self, path):
        assert select(path, DOC) is DOC
        assert select(path, [1, 2]) == [1, 2]
        assert select(path, "text") == "text"

    def test_singular_path_gives_the_value(self):
        assert select("$.count", DOC) == 2
        assert select("$.data.ships[0].vessel_name", DOC) == "Northern Star"
        assert select("$['data']['ships'][1].dimensions.length_overall", DOC) == 228.0

    def test_singular_path_giving_a_list_is_that_list(self):
        assert select("$.data.ships", DOC) == [NORTHERN_STAR, SEA_BREEZE]

    def test_singular_path_without_a_match_is_none(self):
        assert select("$.nothing", DOC) is None
        assert select("$.data.ships[5]", DOC) is None
        assert select("$.empty", DOC) is None

    def test_wildcards_give_a_list(self):
        assert select("$.data.ships[*].imo_number", DOC) == ["IMO-9321483", "IMO-9456712"]
        assert select("$..length_overall", DOC) == [289.5, 228.0]
        assert select("$.data.ships[?@.flag_code == 'PA'].vessel_name", DOC) == ["Sea Breeze"]

    def test_wildcard_without_a_match_is_an_empty_list(self):
        assert select("$.nothing[*]", DOC) == []

    def test_compound_path_gives_a_list(self):
        assert select("$.count | $.data.ships[0].flag_code", DOC) == [2, "NO"]

    def test_xml_root_fallback(self):
        data = {"vessels": {"vessel": [{"name": "A"}, {"name": "B"}]}}
        assert select("$.vessels.vessel[0].name", data, xml_root=True) == "A"
        assert select("$.vessel[1].name", data, xml_root=True) == "B"
        assert select("$.vessel[*].name", data, xml_root=True) == ["A", "B"]
        assert select("$.vessel", data) is None

    def test_xml_root_fallback_needs_a_single_root(self):
        data = {"a": {"x": 1}, "b": {"x": 2}}
        assert select("$.x", data, xml_root=True) is None


class TestMapOutputs:
    def test_catalog_pass_through(self):
        data = {"ships": [NORTHERN_STAR]}
        assert map_outputs([{"type": "object", "mapping": "$."}], data) == data

    def test_mapping_to_a_sub_document(self):
        data = {"data": [NORTHERN_STAR], "meta": {"page": 1}}
        assert map_outputs([{"type": "array", "mapping": "$.data"}], data) == [NORTHERN_STAR]
        assert map_outputs([{"type": "object", "mapping": "$.data[0].dimensions"}], data) == {
            "length_overall": 289.5,
            "beam": 45.0,
        }

    def test_step4_get_ship_builds_an_object_property_by_property(self):
        outputs = tool(STEP4, "get-ship")["outputParameters"]
        assert map_outputs(outputs, NORTHERN_STAR) == {
            "imo": "IMO-9321483",
            "name": "Northern Star",
            "type": "cargo",
            "flag": "NO",
            "status": "active",
            "specs": {"yearBuilt": 2008, "tonnage": 51200, "length": 289.5},
        }

    def test_missing_fields_map_to_none(self):
        outputs = tool(STEP4, "get-ship")["outputParameters"]
        result = map_outputs(outputs, {"imo_number": "IMO-1"})
        assert result["imo"] == "IMO-1"
        assert result["name"] is None
        assert result["specs"] == {"yearBuilt": None, "tonnage": None, "length": None}

    def test_step4_list_ships_maps_every_item(self):
        outputs = tool(STEP4, "list-ships")["outputParameters"]
        assert map_outputs(outputs, [NORTHERN_STAR, SEA_BREEZE]) == [
            {
                "imo": "IMO-9321483",
                "name": "Northern Star",
                "type": "cargo",
                "flag": "NO",
                "status": "active",
            },
            {
                "imo": "IMO-9456712",
                "name": "Sea Breeze",
                "type": "tanker",
                "flag": "PA",
                "status": "maintenance",
            },
        ]

    def test_step4_list_ships_of_nothing(self):
        outputs = tool(STEP4, "list-ships")["outputParameters"]
        assert map_outputs(outputs, []) == []
        assert map_outputs(outputs, None) == []

    def test_array_of_a_single_object_is_wrapped(self):
        outputs = [{"type": "array", "mapping": "$.ship", "items": {"type": "object"}}]
        assert map_outputs(outputs, {"ship": {"a": 1}}) == [{"a": 1}]

    def test_object_of_nothing_is_none(self):
        outputs = [
            {"type": "object", "mapping": "$.missing", "properties": {"a": {"mapping": "$.a"}}}
        ]
        assert map_outputs(outputs, {"x": 1}) is None

    def test_step10_create_voyage_nested_objects_and_arrays_of_scalars(self):
        outputs = tool(STEP10, "create-voyage")["outputParameters"]
        voyage = {
            "voyageId": "VOY-2026-001",
            "shipImo": "IMO-9321483",
            "departurePort": "NOOSL",
            "arrivalPort": "NLRTM",
            "departureDate": "2026-06-01",
            "arrivalDate": "2026-06-04",
            "crewIds": ["CREW-001", "CREW-002"],
            "cargoIds": [],
            "status": "planned",
        }
        assert map_outputs(outputs, voyage) == {
            "voyageId": "VOY-2026-001",
            "shipImo": "IMO-9321483",
            "route": {"from": "NOOSL", "to": "NLRTM"},
            "dates": {"departure": "2026-06-01", "arrival": "2026-06-04"},
            "crewIds": ["CREW-001", "CREW-002"],
            "cargoIds": [],
            "status": "planned",
        }

    def test_array_of_scalars_with_items_mapping_root(self):
        outputs = [
            {
                "type": "array",
                "mapping": "$[*].imo_number",
                "items": {"type": "string", "mapping": "$."},
            }
        ]
        assert map_outputs(outputs, [NORTHERN_STAR, SEA_BREEZE]) == ["IMO-9321483", "IMO-9456712"]

    def test_items_mapping_a_field_of_each_item(self):
        outputs = [
            {
                "type": "array",
                "mapping": "$.",
                "items": {"type": "string", "mapping": "$.flag_code"},
            }
        ]
        assert map_outputs(outputs, [NORTHERN_STAR, SEA_BREEZE]) == ["NO", "PA"]

    def test_step10_legacy_vessels_from_xml(self):
        outputs = tool(STEP10, "list-legacy-vessels")["outputParameters"]
        xml = (
            b"<vessels>"
            b"<vessel><vesselCode>DY-1</vesselCode><vesselName>Old Faithful</vesselName>"
            b"<category>tug</category><flagState>GB</flagState>"
            b"<operationalStatus>active</operationalStatus></vessel>"
            b"<vessel><vesselCode>DY-2</vesselCode><vesselName>Rusty</vesselName>"
            b"<category>barge</category><flagState>NL</flagState>"
            b"<operationalStatus>laid_up</operationalStatus></vessel>"
            b"</vessels>"
        )
        result = map_outputs(outputs, decode(xml, "xml"), xml=True)
        assert result == [
            {
                "vesselCode": "DY-1",
                "name": "Old Faithful",
                "type": "tug",
                "flag": "GB",
                "status": "active",
            },
            {
                "vesselCode": "DY-2",
                "name": "Rusty",
                "type": "barge",
                "flag": "NL",
                "status": "laid_up",
            },
        ]

    def test_xml_single_element_becomes_a_one_item_array(self):
        outputs = tool(STEP10, "list-legacy-vessels")["outputParameters"]
        xml = b"<vessels><vessel><vesselCode>DY-1</vesselCode></vessel></vessels>"
        result = map_outputs(outputs, decode(xml, "xml"), xml=True)
        assert [v["vesselCode"] for v in result] == ["DY-1"]

    def test_named_parameters_give_an_object_keyed_by_name(self):
        outputs = [
            {"name": "imo", "type": "string", "mapping": "$.imo_number"},
            {"name": "length", "type": "number", "mapping": "$.dimensions.length_overall"},
            {"name": "crew", "type": "array", "mapping": "$.assignedCrew"},
        ]
        assert map_outputs(outputs, NORTHERN_STAR) == {
            "imo": "IMO-9321483",
            "length": 289.5,
            "crew": ["CREW-001", "CREW-002"],
        }

    def test_a_single_named_parameter_is_still_keyed(self):
        outputs = [{"name": "imo", "type": "string", "mapping": "$.imo_number"}]
        assert map_outputs(outputs, NORTHERN_STAR) == {"imo": "IMO-9321483"}

    def test_const(self):
        outputs = [
            {"name": "source", "type": "string", "const": "maritime-registry"},
            {"name": "imo", "type": "string", "mapping": "$.imo_number"},
            {"name": "zero", "type": "number", "const": 0},
        ]
        assert map_outputs(outputs, NORTHERN_STAR) == {
            "source": "maritime-registry",
            "imo": "IMO-9321483",
            "zero": 0,
        }

    def test_const_inside_properties(self):
        outputs = [
            {
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "const": "ship"},
                    "imo": {"type": "string", "mapping": "$.imo_number"},
                },
            }
        ]
        assert map_outputs(outputs, NORTHERN_STAR) == {"kind": "ship", "imo": "IMO-9321483"}

    def test_step1_mock_values_are_rendered(self):
        outputs = tool(tutorial("step-1-shipyard-mock.yml"), "get-ship")["outputParameters"]
        caller = mapping_layer({"imo_number": "IMO-9321483"})
        result = map_outputs(outputs, None, render=lambda template: render(template, [caller]))
        assert result == {
            "imo": "IMO-9321483",
            "name": "Northern Star",
            "type": "cargo",
            "flag": "NO",
            "status": "active",
        }

    def test_value_without_render_is_kept_as_written(self):
        outputs = [{"name": "imo", "type": "string", "value": "{{imo_number}}"}]
        assert map_outputs(outputs, None) == {"imo": "{{imo_number}}"}

    def test_non_text_value_is_not_rendered(self):
        called: list[str] = []
        outputs = [{"name": "n", "type": "number", "value": 7}]
        assert map_outputs(outputs, None, render=called.append) == {"n": 7}
        assert called == []

    def test_value_starting_with_dollar_is_jsonpath(self):
        outputs = [
            {"name": "imo", "type": "string", "value": "$.imo_number"},
            {"name": "length", "type": "number", "value": "$.dimensions.length_overall"},
        ]
        assert map_outputs(outputs, NORTHERN_STAR, render=lambda t: "rendered") == {
            "imo": "IMO-9321483",
            "length": 289.5,
        }

    def test_mapping_wins_over_value(self):
        outputs = [{"name": "imo", "mapping": "$.imo_number", "value": "ignored"}]
        assert map_outputs(outputs, NORTHERN_STAR, render=lambda t: "rendered") == {
            "imo": "IMO-9321483"
        }

    def test_orchestrated_items_list_keeps_the_named_fields(self):
        crew = [
            {"crewId": "CREW-001", "fullName": "Ada Lovelace", "role": "captain", "pay": 1},
            {"crewId": "CREW-002", "fullName": "Grace Hopper", "role": "engineer"},
        ]
        outputs = [
            {
                "name": "crew",
                "type": "array",
                "mapping": "$.crew",
                "items": [{"name": "fullName", "type": "string"}, {"name": "role"}],
            }
        ]
        assert map_outputs(outputs, {"crew": crew}) == {
            "crew": [
                {"fullName": "Ada Lovelace", "role": "captain"},
                {"fullName": "Grace Hopper", "role": "engineer"},
            ]
        }

    def test_result_is_json_serialisable(self):
        outputs = tool(STEP4, "get-ship")["outputParameters"]
        json.dumps(map_outputs(outputs, NORTHERN_STAR))


class TestMemberNamePaths:
    """``$.a.b`` is resolved by key lookups (compiled once): it must answer what JSONPath does."""

    NODES = (
        DOC,
        {"a": {"b": {"c": 1}}, "length": 3, "a_b": None, "_x": [1, {"y": 2}]},
        {"a": [{"b": 1}], "b": "text", "c": {"a": {"b": False}}},
        {"root": {"a": {"b": 0}}},
        {"a": None},
        [{"a": 1}, {"a": 2}],
        "text",
        42,
        None,
        {},
        [],
    )
    PATHS = (
        "$.count",
        "$.data.ships",
        "$.data.nothing",
        "$.a",
        "$.a.b",
        "$.a.b.c",
        "$.length",
        "$.size",
        "$.keys",
        "$.a_b",
        "$._x",
        "$.b",
        "$.c.a.b",
        "$.root",
        "$.nothing.at.all",
    )

    @pytest.mark.parametrize("path", PATHS)
    @pytest.mark.parametrize("xml_root", [False, True])
    def test_the_same_answer_as_jsonpath(self, path, xml_root):
        import jsonpath

        query = jsonpath.compile(path)
        for node in self.NODES:
            matches = query.findall(node)
            if not matches and xml_root and isinstance(node, dict) and len(node) == 1:
                matches = query.findall(next(iter(node.values())))
            expected = matches[0] if matches else None
            assert select(path, node, xml_root=xml_root) == expected, (path, node)

    def test_only_plain_member_names_take_the_short_way(self):
        from capabilities_app.runtime.mapping import _compiled

        assert _compiled("$.a.b") == ("a", "b")
        for path in ("$['a']", "$.a[0]", "$.a-b", "$..a", "$.*", "$.a | $.b", "$"):
            assert not isinstance(_compiled(path), tuple), path
