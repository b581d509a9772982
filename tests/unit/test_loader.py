"""The YAML loader: plain data, positions, and refusal of anything unsafe."""

from __future__ import annotations

import pytest

from capabilities_app.core.errors import SpecError
from capabilities_app.store.loader import format_key_path, parse_source, read_source

LIMIT = 2 * 1024 * 1024


def parse(text: str, **kwargs):
    return parse_source(text, origin="doc.yaml", max_bytes=kwargs.pop("max_bytes", LIMIT), **kwargs)


def only_error(exc: pytest.ExceptionInfo[SpecError]):
    assert len(exc.value.diagnostics) == 1
    return exc.value.diagnostics[0]


class TestData:
    def test_plain_values_and_types(self):
        source = parse("a: text\nb: 3\nc: 1.5\nd: true\ne: null\nf: [1, two]\n")
        assert source.data == {"a": "text", "b": 3, "c": 1.5, "d": True, "e": None, "f": [1, "two"]}

    def test_dates_stay_text(self):
        assert parse("created: 2026-05-19\n").data == {"created": "2026-05-19"}

    def test_keys_are_the_text_written(self):
        # YAML 1.1 would read these keys as booleans and numbers.
        assert parse("on: 1\nyes: 2\n200: 3\n").data == {"on": 1, "yes": 2, "200": 3}

    def test_merge_keys_are_resolved(self):
        source = parse("base: &b {x: 1}\nuse:\n  <<: *b\n  y: 2\n")
        assert source.data["use"] == {"x": 1, "y": 2}

    def test_sha256_is_of_the_text(self):
        import hashlib

        text = "a: 1\n"
        assert parse(text).sha256 == hashlib.sha256(text.encode()).hexdigest()


class TestPositions:
    def test_key_positions_are_one_based(self):
        source = parse("capability:\n  exposes:\n    - type: rest\n      port: 80\n")
        assert source.locate(("capability", "exposes", 0, "port")) == (4, 7)
        assert source.locate(("capability", "exposes", 0)) == (3, 7)

    def test_missing_path_falls_back_to_nearest_ancestor(self):
        source = parse("capability:\n  exposes: []\n")
        assert source.locate(("capability", "exposes", 3, "call")) == (2, 3)

    def test_format_key_path(self):
        assert format_key_path(("capability", "exposes", 0, "tools", 2, "call")) == (
            "capability.exposes[0].tools[2].call"
        )
        assert format_key_path(()) == "<document>"


class TestRefusals:
    def test_python_tags_are_refused_without_running_anything(self, tmp_path):
        marker = tmp_path / "pwned"
        text = f"a: !!python/object/apply:os.system ['touch {marker}']\n"
        with pytest.raises(SpecError) as exc:
            parse(text)
        diagnostic = only_error(exc)
        assert diagnostic.code == "unsafe_yaml_tag"
        assert (diagnostic.line, diagnostic.key_path) == (1, "a")
        assert "python/object/apply" in diagnostic.message
        assert not marker.exists()

    def test_custom_tags_are_refused(self):
        with pytest.raises(SpecError) as exc:
            parse("info:\n  label: !Ref other\n")
        diagnostic = only_error(exc)
        assert diagnostic.code == "unsafe_yaml_tag"
        assert diagnostic.key_path == "info.label"
        assert diagnostic.line == 2

    def test_alias_bomb_is_refused(self):
        lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
        for i in range(1, 9):
            prev = chr(ord("a") + i - 1)
            cur = chr(ord("a") + i)
            lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]")
        with pytest.raises(SpecError) as exc:
            parse("\n".join(lines) + "\n")
        assert only_error(exc).code == "alias_bomb"

    def test_small_aliases_are_fine(self):
        source = parse("a: &x {k: v}\nb: *x\n")
        assert source.data["b"] == {"k": "v"}

    def test_recursive_alias_is_refused(self):
        with pytest.raises(SpecError) as exc:
            parse("a: &a\n  - *a\n")
        assert only_error(exc).code == "recursive_alias"

    def test_duplicate_keys_are_refused(self):
        with pytest.raises(SpecError) as exc:
            parse("info:\n  label: a\n  label: b\n")
        diagnostic = only_error(exc)
        assert diagnostic.code == "duplicate_key"
        assert (diagnostic.line, diagnostic.column, diagnostic.key_path) == (3, 3, "info.label")

    def test_syntax_error_has_line_and_column(self):
        with pytest.raises(SpecError) as exc:
            parse("info:\n  label: [unclosed\n  description: x\n")
        diagnostic = only_error(exc)
        assert diagnostic.code == "yaml_syntax"
        assert diagnostic.line >= 2
        assert str(diagnostic).startswith(f"doc.yaml:{diagnostic.line}:{diagnostic.column}: ")

    def test_several_documents_are_refused(self):
        with pytest.raises(SpecError) as exc:
            parse("a: 1\n---\nb: 2\n")
        assert only_error(exc).code == "yaml_syntax"

    def test_empty_document_is_refused(self):
        with pytest.raises(SpecError) as exc:
            parse("# only a comment\n")
        assert only_error(exc).code == "empty_document"

    def test_size_limit_is_checked_before_parsing(self, tmp_path):
        path = tmp_path / "big.yaml"
        path.write_text("a: " + "x" * 200 + "\n")
        with pytest.raises(SpecError) as exc:
            read_source(path, max_bytes=100)
        diagnostic = only_error(exc)
        assert diagnostic.code == "document_too_large"
        assert "REGISTRY_MAX_DOCUMENT_BYTES" in diagnostic.message
        assert str(diagnostic).startswith(f"{path}:1:1: ")

    def test_text_that_is_not_utf8_is_refused(self):
        with pytest.raises(SpecError) as exc:
            parse_source(b"a: \xff\xfe\n", origin="doc.yaml", max_bytes=LIMIT)
        assert only_error(exc).code == "not_utf8"

    def test_missing_file_is_an_error_not_a_crash(self, tmp_path):
        with pytest.raises(SpecError) as exc:
            read_source(tmp_path / "nope.yaml", max_bytes=LIMIT)
        assert only_error(exc).code == "unreadable"
