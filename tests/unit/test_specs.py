"""Reading documents: versions, structure, calls, binds, secrets, imports and the schema."""

from __future__ import annotations

import json
import textwrap
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from capabilities_app.core.errors import SpecError
from capabilities_app.store.loader import Source, parse_source, read_source
from capabilities_app.store.specs import file_import_resolver, parse_document
from tests.conftest import CORPUS, MAX_BYTES, NETBIRD, PREFECT, SHIPYARD

MINIMAL = """\
naftiko: 1.0.0-alpha2
info: {label: Minimal, description: A minimal capability.}
binds:
- namespace: env
  keys: {API_TOKEN: API_TOKEN}
capability:
  consumes:
  - type: http
    namespace: api
    baseUri: https://api.example.com
    authentication: {type: bearer, token: '{{API_TOKEN}}'}
    resources:
    - name: items
      path: /items/{{item_id}}
      operations:
      - name: get-item
        method: GET
        inputParameters:
        - {name: item_id, in: path}
  exposes:
  - type: rest
    namespace: api-rest
    port: 8080
    resources:
    - path: /items/{{id}}
      operations:
      - method: GET
        inputParameters:
        - {name: id, in: path, type: string, description: Item id}
        call: api.get-item
        with: {item_id: api-rest.id}
"""


def _declared_version(path: Path) -> object:
    data = read_source(path, max_bytes=MAX_BYTES).data
    return data.get("naftiko") if isinstance(data, dict) else None


# Corpus files that declare a version the official schemas cover.
SCHEMA_COVERED = [
    p
    for p in sorted(CORPUS.rglob("*.y*ml"))
    if p.name != "_index.yaml" and _declared_version(p) in ("1.0.0-alpha1", "1.0.0-alpha2")
]


def source_of(text: str, origin: str = "doc.yaml") -> Source:
    return parse_source(textwrap.dedent(text), origin=origin, max_bytes=MAX_BYTES)


def parse(text: str, **kwargs):
    return parse_document(source_of(text), name=kwargs.pop("name", "doc"), **kwargs)


def errors_of(text: str, **kwargs) -> list:
    with pytest.raises(SpecError) as exc:
        parse(text, **kwargs)
    return exc.value.diagnostics


def codes(diagnostics) -> set[str]:
    return {d.code for d in diagnostics}


class TestVersions:
    def test_minimal_document_passes_strict(self):
        parsed = parse(MINIMAL, strict=True)
        assert (parsed.version, parsed.kind, parsed.operation_count) == (
            "1.0.0-alpha2",
            "capability",
            1,
        )
        assert parsed.warnings == []

    @pytest.mark.parametrize(
        ("header", "code", "words"),
        [
            ('naftiko: "0.5"', "unsupported_version", "'0.5'"),
            ("naftiko: 1.0.0-alpha3", "unsupported_version", "1.0.0-alpha1 and 1.0.0-alpha2"),
            ("ikanos: 1.0.0-beta4", "unsupported_version", "Ikanos"),
            ("label: not a naftiko document", "not_naftiko", "no top-level 'naftiko'"),
        ],
    )
    def test_unsupported_documents_are_refused(self, header, code, words):
        diagnostics = errors_of(header + "\ncapability: {}\n")
        assert code in codes(diagnostics)
        assert any(words in d.message for d in diagnostics)

    def test_a_list_is_not_a_document(self):
        assert codes(errors_of("- a\n- b\n")) == {"not_a_mapping"}

    def test_document_without_capability_or_consumes(self):
        assert "missing_key" in codes(errors_of("naftiko: 1.0.0-alpha2\ninfo: {label: x}\n"))

    def test_root_consumes_document_is_a_consumes_kind(self):
        text = (CORPUS / "naftiko__framework/tutorial/shared/registry-consumes.yaml").read_text()
        parsed = parse(text, name="registry-consumes")
        assert parsed.kind == "consumes"
        assert parsed.operation_count == 3


class TestStructure:
    def test_unknown_method_names_what_is_supported(self):
        diagnostics = errors_of(
            MINIMAL.replace(
                "method: GET\n        inputParameters:\n        - {name: item_id",
                "method: FETCH\n        inputParameters:\n        - {name: item_id",
            )
        )
        (diagnostic,) = diagnostics
        assert diagnostic.code == "unknown_value"
        assert diagnostic.key_path == "capability.consumes[0].resources[0].operations[0].method"
        assert "GET, POST" in diagnostic.message
        assert (diagnostic.line, diagnostic.column) == (17, 9)

    def test_unknown_expose_type_is_refused(self):
        text = MINIMAL.replace("  - type: rest\n", "  - type: a2a\n")
        diagnostics = errors_of(text, strict=True)
        assert any(d.code == "unknown_value" and "'a2a'" in d.message for d in diagnostics)

    def test_unknown_expose_type_is_held_when_lenient(self):
        # Issue 9 point 22: kept as written, not served, one located warning.
        parsed = parse(MINIMAL.replace("  - type: rest\n", "  - type: a2a\n"))
        assert list(parsed.held) == [("capability", "exposes", 0)]
        (warning,) = [w for w in parsed.warnings if w.code == "kept_not_served"]
        assert warning.key_path == "capability.exposes[0].type"
        assert "'a2a'" in warning.message
        assert not [
            w
            for w in parsed.warnings
            if w.key_path.startswith("capability.exposes[0]") and w.code.startswith("schema.")
        ]

    def test_missing_required_key(self):
        diagnostics = errors_of(
            MINIMAL.replace("      - name: get-item\n        method", "      - method")
        )
        assert any(
            d.code == "missing_key" and d.key_path.endswith("operations[0].name")
            for d in diagnostics
        )

    def test_wrong_value_type(self):
        diagnostics = errors_of(MINIMAL.replace("port: 8080", "port: eighty"))
        (diagnostic,) = [d for d in diagnostics if d.code == "wrong_type"]
        assert diagnostic.key_path == "capability.exposes[0].port"
        assert "integer" in diagnostic.message

    def test_duplicate_names_among_siblings(self):
        text = MINIMAL.replace(
            "    resources:\n    - name: items\n",
            "    resources:\n    - name: items\n      path: /a\n      operations: []\n"
            "    - name: items\n",
        )
        (diagnostic,) = errors_of(text)
        assert diagnostic.code == "duplicate_name"
        assert "first at line 13" in diagnostic.message

    def test_duplicate_consumes_namespace(self):
        text = (CORPUS / "api-evangelist__factset/company-research.yaml").read_text()
        diagnostics = errors_of(text, strict=True)
        assert any(
            d.code == "duplicate_namespace" and "'factset-signals'" in d.message
            for d in diagnostics
        )

    def test_invalid_registry_name(self):
        assert "invalid_name" in codes(errors_of(MINIMAL, name="has space"))


class TestCalls:
    def test_call_to_a_missing_operation_lists_what_exists(self):
        text = MINIMAL.replace("call: api.get-item", "call: api.get-items")
        (diagnostic,) = errors_of(text, strict=True)
        assert diagnostic.code == "unknown_call"
        assert "no operation 'get-items' in 'api' (get-item)" in diagnostic.message
        assert diagnostic.key_path == "capability.exposes[0].resources[0].operations[0].call"

    def test_call_to_a_missing_namespace(self):
        text = MINIMAL.replace("call: api.get-item", "call: other.get-item")
        (diagnostic,) = errors_of(text, strict=True)
        assert "no consumes namespace 'other' (declared: api)" in diagnostic.message

    def test_a_call_to_nothing_is_a_warning_when_lenient(self):
        # Issue 9 point 22: the part is kept with its call as written (no call target).
        parsed = parse(MINIMAL.replace("call: api.get-item", "call: other.get-item"))
        (warning,) = [w for w in parsed.warnings if w.code == "unknown_call"]
        assert "no consumes namespace 'other'" in warning.message
        assert "503 (operation_not_served)" in warning.message
        assert parsed.call_targets == {}

    def test_call_must_have_two_parts(self):
        text = MINIMAL.replace("call: api.get-item", "call: get-item")
        # Strict mode: the schema's pattern and the registry's own check both refuse it.
        assert "invalid_call" in codes(errors_of(text, strict=True))
        (diagnostic,) = [w for w in parse(text).warnings if w.code == "invalid_call"]
        assert "two parts" in diagnostic.message

    def test_calls_are_resolved_to_operation_paths(self):
        parsed = parse(MINIMAL)
        call = ("capability", "exposes", 0, "resources", 0, "operations", 0, "call")
        assert parsed.call_targets[call] == (
            "capability",
            "consumes",
            0,
            "resources",
            0,
            "operations",
            0,
        )

    def test_ambiguous_calls_pick_the_operation_that_fits(self):
        # netbird-peers names three consumed operations "get"; each caller means another.
        source = read_source(
            CORPUS / "api-evangelist__netbird/netbird-peers.yaml", max_bytes=MAX_BYTES
        )
        parsed = parse_document(source, name="netbird-peers")
        data = parsed.data["capability"]
        resources = data["consumes"][0]["resources"]

        def target_path(call_path):
            *_, ri, _, oi = parsed.call_targets[call_path]
            return resources[ri]["path"], resources[ri]["operations"][oi]["description"]

        rest = ("capability", "exposes", 0, "resources")
        assert target_path((*rest, 0, "operations", 0, "call")) == ("/api/peers", "List all Peers")
        assert target_path((*rest, 1, "operations", 0, "call")) == (
            "/api/peers/{peerId}",
            "Retrieve a Peer",
        )
        assert (
            target_path((*rest, 2, "operations", 0, "call"))[0]
            == "/api/peers/{peerId}/accessible-peers"
        )
        tools = ("capability", "exposes", 1, "tools")
        assert target_path((*tools, 1, "call")) == ("/api/peers/{peerId}", "Retrieve a Peer")
        assert "ambiguous_call" in codes(parsed.warnings)

    def test_step_calls_are_checked(self):
        text = (
            CORPUS / "naftiko__framework/tutorial/step-7-shipyard-orchestrated-lookup.yml"
        ).read_text()
        text = text.replace("call: registry.list-crew", "call: registry.list-crews", 1)
        source = source_of(text, origin=str(CORPUS / "naftiko__framework/tutorial/x.yml"))
        with pytest.raises(SpecError) as exc:
            parse_document(
                source,
                name="x",
                strict=True,
                resolve_import=file_import_resolver(max_bytes=MAX_BYTES),
            )
        assert any(
            d.code == "unknown_call" and ".steps[" in d.key_path for d in exc.value.diagnostics
        )

    def test_ref_to_a_missing_function(self):
        path = CORPUS / "naftiko__framework/tutorial/step-9-shipyard-aggregates.yml"
        text = path.read_text().replace(
            "ref: crew-resolver.resolve-crew-for-ship", "ref: crew-resolver.nope"
        )
        source = source_of(text, origin=str(path))
        with pytest.raises(SpecError) as exc:
            parse_document(
                source,
                name="x",
                strict=True,
                resolve_import=file_import_resolver(max_bytes=MAX_BYTES),
            )
        assert any(d.code == "unknown_ref" for d in exc.value.diagnostics)


class TestBindsAndSecrets:
    def test_undeclared_bind_is_a_warning_when_lenient(self):
        parsed = parse(MINIMAL.replace("'{{API_TOKEN}}'", "'{{OTHER_TOKEN}}'"))
        (warning,) = [w for w in parsed.warnings if w.code == "undeclared_bind"]
        assert "OTHER_TOKEN" in warning.message
        assert warning.key_path == "capability.consumes[0].authentication.token"

    def test_undeclared_bind_is_an_error_when_strict(self):
        diagnostics = errors_of(
            MINIMAL.replace("'{{API_TOKEN}}'", "'{{OTHER_TOKEN}}'"), strict=True
        )
        assert "undeclared_bind" in codes(diagnostics)

    def test_namespaced_bind_expressions(self):
        ok = parse(MINIMAL.replace("'{{API_TOKEN}}'", "'{{env.API_TOKEN}}'"))
        assert "undeclared_bind" not in codes(ok.warnings)
        bad = parse(MINIMAL.replace("'{{API_TOKEN}}'", "'{{env.NOPE}}'"))
        assert "undeclared_bind" in codes(bad.warnings)

    def test_parameter_templates_are_not_binds(self):
        # {{item_id}} is a parameter, not a bind variable.
        assert "undeclared_bind" not in codes(parse(MINIMAL).warnings)

    def test_literal_secrets_are_flagged(self):
        parsed = parse(MINIMAL.replace("'{{API_TOKEN}}'", "sk-live-123"))
        (warning,) = [w for w in parsed.warnings if w.code == "literal_secret"]
        assert warning.key_path == "capability.consumes[0].authentication.token"
        assert "sk-live-123" not in warning.message


class TestImports:
    def test_relative_import_with_alias(self, tmp_path: Path):
        (tmp_path / "shared").mkdir()
        (tmp_path / "shared" / "api.yaml").write_text(
            "naftiko: 1.0.0-alpha2\nconsumes:\n- type: http\n  namespace: api\n"
            "  baseUri: https://api.example.com\n  resources:\n  - name: items\n    path: /items\n"
            "    operations:\n    - {name: list, method: GET}\n"
        )
        main = tmp_path / "main.yaml"
        main.write_text(
            "naftiko: 1.0.0-alpha2\ncapability:\n  consumes:\n"
            "  - {location: ./shared/api.yaml, import: api, as: upstream}\n"
            "  exposes:\n  - type: mcp\n    namespace: m\n    tools:\n"
            "    - {name: list, description: List, call: upstream.list}\n"
        )
        parsed = parse_document(
            read_source(main, max_bytes=MAX_BYTES),
            name="main",
            resolve_import=file_import_resolver(max_bytes=MAX_BYTES),
        )
        (entry,) = parsed.consumes
        assert entry.namespace == "upstream"
        assert entry.import_entry == {
            "location": "./shared/api.yaml",
            "import": "api",
            "as": "upstream",
        }
        resolved = parsed.resolved()["capability"]["consumes"][0]
        assert resolved["__import__"]["location"] == "./shared/api.yaml"
        assert resolved["resources"][0]["operations"][0]["name"] == "list"

    def test_missing_import_file(self, tmp_path: Path):
        main = tmp_path / "main.yaml"
        main.write_text(
            "naftiko: 1.0.0-alpha2\ncapability:\n  consumes:\n"
            "  - {location: ./shared/none.yaml, import: api}\n"
        )
        with pytest.raises(SpecError) as exc:
            parse_document(
                read_source(main, max_bytes=MAX_BYTES),
                name="main",
                resolve_import=file_import_resolver(max_bytes=MAX_BYTES),
            )
        (diagnostic,) = exc.value.diagnostics
        assert diagnostic.key_path == "capability.consumes[0].location"
        assert "cannot import 'api'" in diagnostic.message

    def test_import_of_a_namespace_the_file_lacks(self):
        path = CORPUS / "naftiko__framework/tutorial/step-5-shipyard-multi-source.yml"
        text = path.read_text().replace("import: legacy", "import: legacy-v2")
        with pytest.raises(SpecError) as exc:
            parse_document(
                source_of(text, origin=str(path)),
                name="x",
                resolve_import=file_import_resolver(max_bytes=MAX_BYTES),
            )
        assert any(
            d.code == "import_not_found" and "(it has: legacy)" in d.message
            for d in exc.value.diagnostics
        )


class TestSchema:
    def test_seeds_are_lenient_warnings(self):
        for path in (PREFECT, NETBIRD):
            parsed = parse_document(read_source(path, max_bytes=MAX_BYTES), name=path.stem)
            assert any(w.code.startswith("schema.") for w in parsed.warnings)

    def test_seeds_fail_strict_with_schema_messages(self):
        with pytest.raises(SpecError) as exc:
            parse_document(read_source(NETBIRD, max_bytes=MAX_BYTES), name="netbird", strict=True)
        messages = [str(d) for d in exc.value.diagnostics]
        assert any(
            "capability.exposes[0]: not valid under the 1.0.0-alpha2 schema: Additional properties"
            " are not allowed ('description' was unexpected)" in m
            for m in messages
        )
        assert any('"properties" is a required property' in m for m in messages)

    def test_canonical_fixture_passes_strict(self):
        parsed = parse_document(read_source(SHIPYARD, max_bytes=MAX_BYTES), name="s", strict=True)
        assert parsed.warnings == []

    @pytest.mark.parametrize("path", SCHEMA_COVERED, ids=lambda p: str(p.relative_to(CORPUS)))
    def test_verdict_matches_the_reference_validator(self, path: Path):
        """Our per-branch validation agrees with python-jsonschema on the whole schema."""
        source = read_source(path, max_bytes=MAX_BYTES)
        version = source.data["naftiko"]
        schema_text = (
            resources.files("capabilities_app") / "schemas" / f"naftiko-schema-{version}.json"
        ).read_text()
        schema = json.loads(schema_text)
        reference_valid = jsonschema.validators.validator_for(schema)(schema).is_valid(source.data)
        from capabilities_app.store.specs import schema_diagnostics

        ours = schema_diagnostics(source, "error")
        assert (not ours) == reference_valid, [str(d) for d in ours[:3]]
