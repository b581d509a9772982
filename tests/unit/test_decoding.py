"""Bounded decoding of untrusted bodies and documents (issue 9 points 3, 11 and 16).

Every format the registry decodes (JSON, XML, CSV/TSV/PSV, YAML) is read under the same
limits: a count of values and a nesting depth; YAML's aliases count expanded, and XML
entity declarations are refused outright.
"""

from __future__ import annotations

import json

import pytest

from capabilities_app.core import decoding
from capabilities_app.core.decoding import Limits, Refused
from capabilities_app.core.errors import OutputTooComplex, UpstreamInvalid
from capabilities_app.runtime.mapping import decode

SMALL = Limits(max_values=100, max_depth=5)


class TestJson:
    @pytest.mark.parametrize(
        "document",
        [
            {"a": [1, 2, {"b": "c"}], "d": None},
            [],
            "text with [brackets] and {braces}, commas",
            {"quote": 'a "quoted" \\ value [', "nested": [[[[1]]]]},
            12.5,
        ],
    )
    def test_ordinary_documents_load_as_json_loads_them(self, document):
        """Issue 9 point 3: the guard changes nothing for ordinary documents."""
        raw = json.dumps(document).encode()
        assert decoding.load_json(raw, SMALL) == json.loads(raw)
        assert decoding.load_json(raw.decode(), SMALL) == json.loads(raw)

    def test_depth_at_the_limit_passes_and_one_more_is_refused(self):
        """Issue 9 point 11: nesting is counted exactly."""
        assert decoding.load_json(b"[[[[[1]]]]]", SMALL) == [[[[[1]]]]]
        with pytest.raises(Refused) as exc:
            decoding.load_json(b'[[[[{"a": [1]}]]]]', SMALL)
        assert exc.value.code == "too_deep"
        assert "5 levels" in str(exc.value)

    def test_brackets_inside_strings_do_not_count(self):
        """Issue 9 point 11: strings are skipped, escaped quotes included."""
        text = json.dumps(["[[[[[[[[[[", '\\"[[[[[[', "{{{{{{{{"])
        assert decoding.load_json(text.encode(), SMALL) == json.loads(text)

    def test_100k_open_brackets_are_refused_not_a_recursion_error(self):
        """Issue 9 point 11: 100,000 '[' are refused as too deep, never RecursionError."""
        with pytest.raises(Refused) as exc:
            decoding.load_json(b"[" * 100_000)
        assert exc.value.code == "too_deep"

    def test_990_levels_are_refused_under_the_default_limit(self):
        """Issue 9 point 11: 990 levels parse with json.loads but are refused here."""
        with pytest.raises(Refused):
            decoding.load_json(b"[" * 990 + b"]" * 990)
        assert decoding.MAX_DEPTH == 100

    def test_too_many_values_are_refused_before_parsing(self):
        """Issue 9 point 3: a wide document is refused by its value count."""
        with pytest.raises(Refused) as exc:
            decoding.load_json(b"[" + b"[]," * 200 + b"[]]", SMALL)
        assert exc.value.code == "too_many_values"
        assert "100 values" in str(exc.value)

    def test_invalid_json_is_a_value_error(self):
        with pytest.raises(ValueError):
            decoding.load_json(b'{"a": ', SMALL)


class TestXml:
    def test_ordinary_documents_load_as_before(self):
        assert decoding.load_xml(b"<r><a>1</a><a x='y'>2</a></r>", SMALL) == {
            "r": {"a": ["1", {"@x": "y", "#text": "2"}]}
        }

    def test_depth_is_limited(self):
        """Issue 9 point 3: nested elements past the limit are refused."""
        assert decoding.load_xml(b"<a>" * 5 + b"x" + b"</a>" * 5, SMALL)
        with pytest.raises(Refused) as exc:
            decoding.load_xml(b"<a>" * 6 + b"x" + b"</a>" * 6, SMALL)
        assert exc.value.code == "too_deep"

    def test_element_count_is_limited(self):
        """Issue 9 point 3: more elements than values allowed are refused."""
        with pytest.raises(Refused) as exc:
            decoding.load_xml(b"<r>" + b"<a/>" * 200 + b"</r>", SMALL)
        assert exc.value.code == "too_many_values"

    def test_entity_declarations_are_refused(self):
        """Issue 9 point 3: no entity is ever expanded (billion laughs)."""
        document = b'<!DOCTYPE r [<!ENTITY e "boom">]><r>&e;</r>'
        with pytest.raises(Refused) as exc:
            decoding.load_xml(document, SMALL)
        assert exc.value.code == "xml_entities"
        assert not exc.value.limit


class TestDelimited:
    def test_rows_become_objects_as_before(self):
        text = b"id,name\n1,Ada\n\n2,Bo,extra\n3\n"
        assert decoding.load_delimited(text, ",", SMALL) == [
            {"id": "1", "name": "Ada"},
            {"id": "2", "name": "Bo", None: ["extra"]},
            {"id": "3", "name": None},
        ]

    def test_cells_are_counted_while_reading(self):
        """Issue 9 point 3: reading stops at the first row past the cell limit."""
        text = b"a,b\n" + b"1,2\n" * 1000
        with pytest.raises(Refused) as exc:
            decoding.load_delimited(text, ",", SMALL)
        assert exc.value.code == "too_many_values"


class TestYaml:
    def test_a_document_over_the_value_limit_without_aliases_says_so(self):
        """Issue 9 point 16: no aliases: the message names the value limit, not aliases."""
        with pytest.raises(Refused) as exc:
            decoding.scan_yaml("[" + "1, " * 200 + "1]", SMALL)
        assert exc.value.code == "too_many_values"
        assert "more than 100 values" in str(exc.value)
        assert "alias" not in str(exc.value)

    def test_aliases_expanding_past_the_limit_are_an_alias_bomb(self):
        """Issue 9 point 16: aliases: the message says aliases, and names the limit."""
        with pytest.raises(Refused) as exc:
            decoding.scan_yaml(
                "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\nb: [" + ", ".join(["*a"] * 12) + "]\n", SMALL
            )
        assert exc.value.code == "alias_bomb"
        assert "alias" in str(exc.value)
        assert "100 values" in str(exc.value)

    def test_aliases_count_their_depth(self):
        """Issue 9 point 11: an alias placed deep adds its own depth."""
        decoding.scan_yaml("a: &a [[[1]]]\nb: *a\n", SMALL)
        with pytest.raises(Refused) as exc:
            decoding.scan_yaml("a: &a [[[1]]]\nb: [[*a]]\n", SMALL)
        assert exc.value.code == "too_deep"

    def test_deep_nesting_is_located(self):
        with pytest.raises(Refused) as exc:
            decoding.scan_yaml("x:\n  y: " + "[" * 20 + "]" * 20 + "\n", SMALL)
        assert exc.value.code == "too_deep"
        assert exc.value.line == 2

    def test_recursive_alias_is_refused(self):
        with pytest.raises(Refused) as exc:
            decoding.scan_yaml("a: &a\n  - *a\n", SMALL)
        assert exc.value.code == "recursive_alias"


class TestMappingDecode:
    def test_limits_are_502_upstream_too_complex(self):
        """Issue 9 point 3: every format's limit is the same error."""
        for content, fmt in [
            (b"[" * 1000 + b"]" * 1000, "json"),
            (b"<a>" * 1000 + b"</a>" * 1000, "xml"),
            (
                b"a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
                + b"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                + b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                + b"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                + b"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                + b"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
                "yaml",
            ),
            (b"a\n" + b"1\n" * 600_000, "csv"),
        ]:
            with pytest.raises(OutputTooComplex) as exc:
                decode(content, fmt)
            assert exc.value.status == 502
            assert exc.value.code == "upstream_too_complex"

    def test_xml_entities_are_502_upstream_invalid(self):
        with pytest.raises(UpstreamInvalid) as exc:
            decode(b'<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>', "xml")
        assert exc.value.code == "upstream_invalid"

    def test_yaml_timestamps_stay_text(self):
        """Upstream YAML is read like documents: a date is its text (JSON has no dates)."""
        assert decode(b"when: 2024-01-02\n", "yaml") == {"when": "2024-01-02"}


class TestLoader:
    """The importer's loader runs the same guard (issue 9 points 11 and 16)."""

    def test_a_large_plain_document_names_the_value_limit(self):
        """Issue 9 point 16: 600,000 values, no alias: "more than 500,000 values"."""
        from capabilities_app.core.errors import SpecError
        from capabilities_app.store.loader import parse_source

        text = "naftiko: 1.0.0-alpha2\nx: [" + "1," * 600_000 + "1]\n"
        with pytest.raises(SpecError) as exc:
            parse_source(text, origin="big.yaml", max_bytes=10 * 1024 * 1024)
        (diagnostic,) = exc.value.diagnostics
        assert diagnostic.code == "too_many_values"
        assert "more than 500,000 values" in diagnostic.message
        assert "alias" not in diagnostic.message

    @pytest.mark.parametrize(
        "text",
        [
            "naftiko: 1.0.0-alpha2\nx: " + "[" * 900 + "]" * 900 + "\n",
            "x:\n" + "\n".join(" " * (n + 1) + f"k{n}:" for n in range(1, 900)) + " 1\n",
        ],
        ids=["flow", "block"],
    )
    def test_deep_nesting_is_a_located_spec_error(self, text):
        """Issue 9 point 11: a deeply nested document is a located SpecError."""
        from capabilities_app.core.errors import SpecError
        from capabilities_app.store.loader import parse_source

        with pytest.raises(SpecError) as exc:
            parse_source(text, origin="deep.yaml", max_bytes=10 * 1024 * 1024)
        (diagnostic,) = exc.value.diagnostics
        assert diagnostic.code == "too_deep"
        assert diagnostic.line > 1
        assert "100 levels" in diagnostic.message
