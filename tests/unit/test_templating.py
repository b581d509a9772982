"""Mustache rendering and bind variables (RUNTIME-CONTRACT §3 to §4), without a database."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from capabilities_app.core.errors import SecretMissing
from capabilities_app.runtime.templating import (
    MISSING,
    Binds,
    BindSource,
    has_tags,
    mapping_layer,
    render,
    render_body,
    render_value,
    tag_names,
)
from tests.conftest import CORPUS

TUTORIAL = CORPUS / "naftiko__framework" / "tutorial"
SECRET = "s3cr3t-value-never-shown"


def layer(**values):
    return mapping_layer(values)


def env_binds(environ: dict[str, str], namespace: str = "env", **keys: str) -> Binds:
    return Binds((BindSource(namespace, tuple(keys.items())),), environ=environ)


def file_binds(location: str, base_dir: Path | str | None = None, **keys: str) -> Binds:
    source = BindSource("files", tuple(keys.items()), location, str(base_dir) if base_dir else None)
    return Binds((source,), environ={})


class TestRendering:
    def test_text_without_tags_is_returned_as_is(self):
        assert render("plain <text> & more", []) == "plain <text> & more"

    def test_values_are_not_html_escaped(self):
        assert render("{{q}}", [layer(q='<a href="x">&\'</a>')]) == '<a href="x">&\'</a>'

    def test_triple_mustache_is_the_same(self):
        assert render("{{{q}}}", [layer(q="a&b")]) == "a&b"

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ([1, "two", {"x": None}], '[1, "two", {"x": null}]'),
            ({"k": "v"}, '{"k": "v"}'),
            (3, "3"),
            (2.5, "2.5"),
            (0, "0"),
            (True, "true"),
            (False, "false"),
            (None, "null"),
        ],
    )
    def test_non_text_values_are_inserted_as_json(self, value, expected):
        assert render("{{v}}", [layer(v=value)]) == expected

    def test_a_json_body_template_gets_a_json_list(self):
        body = render(
            '{"crewIds": {{crewIds}}, "name": "{{name}}"}', [layer(crewIds=[1, 2], name="Ø")]
        )
        assert json.loads(body) == {"crewIds": [1, 2], "name": "Ø"}

    def test_non_ascii_text_is_kept(self):
        assert render("{{v}}", [layer(v=["Ålesund"])]) == '["Ålesund"]'

    def test_first_layer_that_knows_a_name_wins(self):
        layers = [layer(a="with"), layer(a="caller", b="caller-b"), layer(b="third", c="third-c")]
        assert render("{{a}} {{b}} {{c}}", layers) == "with caller-b third-c"

    def test_a_layer_value_of_none_is_a_value(self):
        # Only MISSING passes the name on to the next layer.
        assert render("{{a}}", [layer(a=None), layer(a="later")]) == "null"

    def test_layers_are_asked_lazily_and_once(self):
        asked: list[str] = []

        def recording(name: str):
            asked.append(name)
            return "v" if name == "used" else MISSING

        assert render("{{used}}-{{used}}", [recording]) == "v-v"
        assert asked == ["used"]

    def test_missing_names_render_as_nothing(self):
        assert render("a{{nothing}}b{{no.such.path}}c", [layer(x=1)]) == "abc"

    def test_missing_names_without_any_layer(self):
        assert render("[{{x}}]", []) == "[]"

    def test_whitespace_inside_tags(self):
        assert render("{{ a }}", [layer(a="x")]) == "x"

    def test_dotted_names_walk_layer_values(self):
        assert render("{{ship.name}}", [layer(ship={"name": "Northern Star"})]) == "Northern Star"

    def test_sections(self):
        assert render("{{#flag}}on{{/flag}}{{^flag}}off{{/flag}}", [layer(flag=True)]) == "on"
        assert render("{{#items}}{{n}},{{/items}}", [layer(items=[{"n": 1}, {"n": 2}])]) == "1,2,"


class TestEnvironmentBinds:
    def test_variable_by_its_own_name(self):
        binds = env_binds({"NETBIRD_TOKEN": "tok-1"}, TOKEN="NETBIRD_TOKEN")
        assert render("Bearer {{TOKEN}}", [], binds) == "Bearer tok-1"

    def test_variable_through_its_namespace(self):
        binds = env_binds({"NETBIRD_TOKEN": "tok-1"}, namespace="env", TOKEN="NETBIRD_TOKEN")
        assert render("Bearer {{env.TOKEN}}", [], binds) == "Bearer tok-1"

    def test_namespace_with_a_dash(self):
        binds = env_binds({"E": "v"}, namespace="registry-env", VAR="E")
        assert render("{{registry-env.VAR}}", [], binds) == "v"

    def test_binds_come_before_layers(self):
        # Issue 9 point 1 (the trust boundary): a caller can never shadow a bind.
        binds = env_binds({"E": "from-env"}, VAR="E")
        assert render("{{VAR}}", [layer(VAR="from-caller")], binds) == "from-env"
        assert render("x-{{VAR}}-y", [layer(VAR="from-caller")], binds) == "x-from-env-y"

    def test_a_bind_namespace_comes_before_layers(self):
        binds = env_binds({"E": "from-env"}, namespace="env", VAR="E")
        forged = layer(env={"VAR": "from-caller"})
        assert render("{{env.VAR}}", [forged], binds) == "from-env"
        assert render("a {{env.VAR}}", [forged], binds) == "a from-env"

    def test_a_declared_bind_without_a_value_is_not_filled_by_a_layer(self):
        binds = env_binds({}, VAR="UNSET")
        with pytest.raises(SecretMissing):
            render("{{VAR}}", [layer(VAR="from-caller")], binds)

    def test_binds_fill_what_layers_do_not_know(self):
        binds = env_binds({"E": "from-env"}, VAR="E")
        assert render("{{name}}:{{VAR}}", [layer(name="n")], binds) == "n:from-env"

    def test_two_sources_keep_their_namespaces(self):
        binds = Binds(
            (
                BindSource("one", (("VAR", "ONE"),)),
                BindSource("two", (("VAR", "TWO"),)),
            ),
            environ={"ONE": "1", "TWO": "2"},
        )
        assert render("{{one.VAR}} {{two.VAR}} {{VAR}}", [], binds) == "1 2 1"

    def test_value_reads_the_environment_at_call_time(self):
        environ = {"E": "first"}
        binds = env_binds(environ, VAR="E")
        assert render("{{VAR}}", [], binds) == "first"
        environ["E"] = "second"
        assert render("{{VAR}}", [], binds) == "second"

    def test_default_environ_is_the_process_environment(self, monkeypatch):
        monkeypatch.setenv("REGISTRY_TEST_BIND_VALUE", "from-process")
        binds = Binds((BindSource("env", (("VAR", "REGISTRY_TEST_BIND_VALUE"),)),))
        assert binds.environ is os.environ
        assert render("{{VAR}}", [], binds) == "from-process"

    @pytest.mark.parametrize("environ", [{}, {"NETBIRD_TOKEN": ""}])
    def test_unset_or_empty_variable_is_secret_missing(self, environ):
        environ = {**environ, "OTHER_SECRET": SECRET}
        binds = Binds(
            (BindSource("env", (("TOKEN", "NETBIRD_TOKEN"), ("OTHER", "OTHER_SECRET"))),),
            environ=environ,
        )
        with pytest.raises(SecretMissing) as exc:
            render("{{OTHER}} Bearer {{TOKEN}}", [], binds)
        message = str(exc.value)
        assert "TOKEN" in message
        assert "NETBIRD_TOKEN" in message
        assert SECRET not in message
        assert SECRET not in exc.value.detail
        assert exc.value.code == "secret_missing"
        assert exc.value.status == 503

    def test_unset_variable_through_its_namespace_is_secret_missing(self):
        binds = env_binds({}, namespace="env", TOKEN="NETBIRD_TOKEN")
        with pytest.raises(SecretMissing, match="NETBIRD_TOKEN"):
            render("{{env.TOKEN}}", [], binds)

    def test_undeclared_variable_in_a_bind_namespace_renders_empty(self):
        binds = env_binds({"E": "v", "UNDECLARED": SECRET}, namespace="env", VAR="E")
        assert render("[{{env.UNDECLARED}}]", [], binds) == "[]"

    def test_undeclared_name_renders_empty_even_if_the_environment_has_it(self):
        binds = env_binds({"E": "v", "HOME_SECRET": SECRET}, VAR="E")
        assert render("[{{HOME_SECRET}}]", [], binds) == "[]"

    def test_an_unused_missing_variable_is_not_an_error(self):
        binds = env_binds({}, TOKEN="NETBIRD_TOKEN")
        assert render("no secret here: {{x}}", [layer(x=1)], binds) == "no secret here: 1"

    def test_binds_helpers(self):
        binds = env_binds({"E": "v"}, namespace="env", VAR="E")
        assert binds.namespaces() == {"env"}
        assert binds.declares("VAR")
        assert not binds.declares("E")
        assert binds.value("VAR") == "v"
        assert binds.value("VAR", "env") == "v"
        with pytest.raises(KeyError):
            binds.value("VAR", "other")
        with pytest.raises(KeyError):
            binds.value("NOPE")


class TestFileBinds:
    def test_relative_location_against_base_dir(self):
        binds = file_binds("file:///./shared/secrets.yaml", TUTORIAL, TOKEN="registry-bearer-token")
        assert render("Bearer {{TOKEN}}", [], binds) == "Bearer dummy-token"
        assert render("{{files.TOKEN}}", [], binds) == "dummy-token"

    def test_parent_relative_location(self, tmp_path):
        (tmp_path / "secrets.yaml").write_text("k: parent\n")
        (tmp_path / "sub").mkdir()
        binds = file_binds("file:///../secrets.yaml", tmp_path / "sub", VAR="k")
        assert render("{{VAR}}", [], binds) == "parent"

    def test_absolute_location(self, tmp_path):
        path = tmp_path / "secrets.yaml"
        path.write_text("api-key: abs-value\n")
        binds = file_binds(f"file://{path}", None, KEY="api-key")
        assert path.is_absolute()
        assert render("{{KEY}}", [], binds) == "abs-value"

    def test_absolute_location_ignores_base_dir(self, tmp_path):
        path = tmp_path / "secrets.yaml"
        path.write_text("k: v\n")
        binds = file_binds(f"file://{path}", tmp_path / "elsewhere", VAR="k")
        assert render("{{VAR}}", [], binds) == "v"

    def test_json_map(self, tmp_path):
        (tmp_path / "secrets.json").write_text(json.dumps({"token": "json-token", "port": 8443}))
        binds = file_binds("file:///./secrets.json", tmp_path, TOKEN="token", PORT="port")
        assert render("{{TOKEN}}:{{PORT}}", [], binds) == "json-token:8443"

    def test_map_is_re_read_when_the_file_changes(self, tmp_path):
        path = tmp_path / "secrets.yaml"
        path.write_text("k: before\n")
        binds = file_binds("file:///./secrets.yaml", tmp_path, VAR="k")
        assert render("{{VAR}}", [], binds) == "before"
        mtime = path.stat().st_mtime
        path.write_text("k: after-the-change\n")
        os.utime(path, (mtime + 10, mtime + 10))
        assert render("{{VAR}}", [], binds) == "after-the-change"

    def test_map_is_cached_while_the_file_is_unchanged(self, tmp_path):
        path = tmp_path / "secrets.yaml"
        path.write_text("k: cached\n")
        binds = file_binds("file:///./secrets.yaml", tmp_path, VAR="k")
        assert render("{{VAR}}", [], binds) == "cached"
        stat = path.stat()
        path.write_text("k: sneaky\n")
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert render("{{VAR}}", [], binds) == "cached"

    def test_a_tutorial_copy_can_be_edited(self, tmp_path):
        shutil.copytree(TUTORIAL / "shared", tmp_path / "shared")
        binds = file_binds(
            "file:///./shared/secrets.yaml", tmp_path, VERSION="registry-api-version"
        )
        assert render("{{VERSION}}", [], binds) == "1.0.0-alpha2"

    @pytest.mark.parametrize("content", ["other: x\n", "k: ''\n", "k:\n"])
    def test_key_absent_or_empty_is_secret_missing(self, tmp_path, content):
        (tmp_path / "secrets.yaml").write_text(content + f"leak: {SECRET}\n")
        binds = file_binds("file:///./secrets.yaml", tmp_path, VAR="k")
        with pytest.raises(SecretMissing) as exc:
            render("{{VAR}}", [], binds)
        assert "VAR" in str(exc.value)
        assert SECRET not in str(exc.value)

    def test_missing_file_is_secret_missing(self, tmp_path):
        binds = file_binds("file:///./nowhere.yaml", tmp_path, VAR="k")
        with pytest.raises(SecretMissing, match="VAR"):
            render("{{VAR}}", [], binds)

    def test_a_file_that_is_not_a_map_is_secret_missing(self, tmp_path):
        (tmp_path / "secrets.yaml").write_text("- just\n- a list\n")
        binds = file_binds("file:///./secrets.yaml", tmp_path, VAR="just")
        with pytest.raises(SecretMissing):
            render("{{VAR}}", [], binds)

    @pytest.mark.parametrize(
        "location", ["vault://secret/data/netbird", "https://example.com/secrets.yaml"]
    )
    def test_unsupported_scheme_is_secret_missing(self, location):
        binds = Binds((BindSource("vault", (("TOKEN", "token"),), location),), environ={})
        with pytest.raises(SecretMissing) as exc:
            render("{{TOKEN}}", [], binds)
        assert "TOKEN" in str(exc.value)
        assert location.split("://")[0] + "://" in str(exc.value)
        assert exc.value.status == 503

    def test_unsupported_scheme_does_not_fall_back_to_the_environment(self):
        binds = Binds(
            (BindSource("vault", (("TOKEN", "token"),), "vault://x"),), environ={"token": SECRET}
        )
        with pytest.raises(SecretMissing) as exc:
            render("{{TOKEN}}", [], binds)
        assert SECRET not in str(exc.value)


class TestRenderValue:
    def test_walks_dicts_and_lists(self):
        value = {
            "name": "{{name}}",
            "tags": ["{{a}}", "fixed", {"deep": "x{{b}}y"}],
            "count": 3,
            "flag": None,
        }
        rendered = render_value(value, [layer(name="n", a=[1], b=2)])
        assert rendered == {
            "name": "n",
            "tags": ["[1]", "fixed", {"deep": "x2y"}],
            "count": 3,
            "flag": None,
        }

    def test_scalar_values(self):
        assert render_value("{{x}}", [layer(x="y")]) == "y"
        assert render_value(5, [layer(x="y")]) == 5

    def test_keys_are_not_rendered(self):
        assert render_value({"{{x}}": "{{x}}"}, [layer(x="y")]) == {"{{x}}": "y"}

    def test_layers_may_be_a_generator(self):
        layers = (lookup for lookup in [layer(a="1"), layer(b="2")])
        assert render_value(["{{a}}", "{{b}}"], layers) == ["1", "2"]

    def test_binds_are_used(self):
        binds = env_binds({"E": "v"}, VAR="E")
        assert render_value({"auth": ["{{VAR}}"]}, [], binds) == {"auth": ["v"]}


class TestTags:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("{{x}}", True),
            ("a {{ b }} c", True),
            ("{{", True),
            ("plain", False),
            ("{single}", False),
            ("", False),
            (None, False),
            (3, False),
            (["{{x}}"], False),
        ],
    )
    def test_has_tags(self, value, expected):
        assert has_tags(value) is expected

    def test_tag_names(self):
        template = "{{a}}/{{ ns.B }}/{{{raw}}}/{{#sec}}{{inner}}{{/sec}}/{{^neg}}{{/neg}}/{{! c }}"
        assert tag_names(template) == ["a", "ns.B", "raw", "inner"]

    def test_tag_names_without_tags(self):
        assert tag_names("https://api.example.com/{single}") == []

    def test_tag_names_keep_order_and_repeats(self):
        assert tag_names("{{b}}{{a}}{{b}}") == ["b", "a", "b"]


class TestBodyTemplates:
    """Issue 9 point 6: a layer's value is data in the body format it lands in."""

    INJECTION = 'mallory", "role": "admin'

    def test_inside_a_json_string_a_value_is_json_string_escaped(self):
        body = render_body(
            '{"name": "{{name}}", "role": "user"}', "json", [layer(name=self.INJECTION)]
        )
        assert json.loads(body) == {"name": self.INJECTION, "role": "user"}

    def test_an_escaped_quote_in_the_template_keeps_the_string_open(self):
        body = render_body(r'{"a": "x\"{{v}}", "b": {{w}}}', "json", [layer(v='"', w="7")])
        assert json.loads(body) == {"a": 'x""', "b": 7}

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (3, 3),
            ("3", 3),
            ("-1.5e3", -1500.0),
            ("true", True),
            ("null", None),
            ([1, "a"], [1, "a"]),
            ({"k": "v"}, {"k": "v"}),
            ('3, "role": "admin"', '3, "role": "admin"'),
            ("03", "03"),
            (" 3", " 3"),
            ("\u0661", "\u0661"),  # ARABIC-INDIC DIGIT ONE: a digit to Python, not to JSON
        ],
    )
    def test_outside_quotes_a_value_is_exactly_one_json_value(self, value, expected):
        body = render_body('{"v": {{v}}, "role": "user"}', "json", [layer(v=value)])
        assert json.loads(body) == {"v": expected, "role": "user"}

    def test_a_name_nothing_defines_is_null_outside_quotes_and_empty_inside(self):
        body = render_body('{"a": {{nothing}}, "b": "{{nothing}}"}', "json", [layer()])
        assert json.loads(body) == {"a": None, "b": ""}

    def test_sections_keep_their_context(self):
        template = (
            '{"ids": [{{#items}}{{id}},{{/items}}0], "names": "{{#items}}{{name}};{{/items}}"}'
        )
        items = [{"id": "1", "name": 'a"'}, {"id": '2, "x": 1', "name": "b"}]
        body = render_body(template, "json", [layer(items=items)])
        assert json.loads(body) == {"ids": [1, '2, "x": 1', 0], "names": 'a";b;'}

    def test_triple_mustache_is_escaped_too(self):
        body = render_body('{"a": "{{{v}}}", "b": "{{&v}}"}', "json", [layer(v='"')])
        assert json.loads(body) == {"a": '"', "b": '"'}

    def test_bind_values_are_inserted_as_they_are(self):
        binds = env_binds({"E": '{"nested": true}'}, CONFIG="E")
        body = render_body('{"config": {{CONFIG}}, "c": {{env.CONFIG}}}', "json", [], binds)
        assert json.loads(body) == {"config": {"nested": True}, "c": {"nested": True}}

    def test_a_template_with_changed_delimiters_inserts_one_json_value_each(self):
        body = render_body('{{=<% %>=}}{"a": <%v%>}', "json", [layer(v='1, "b": 2')])
        assert json.loads(body) == {"a": '1, "b": 2'}

    def test_xml_text_and_attributes(self):
        value = "</name><role>admin</role>\"'&"
        body = render_body('<u n="{{v}}"><name>{{v}}</name></u>', "xml", [layer(v=value)])
        assert body == (
            '<u n="&lt;/name&gt;&lt;role&gt;admin&lt;/role&gt;&quot;&apos;&amp;">'
            "<name>&lt;/name&gt;&lt;role&gt;admin&lt;/role&gt;&quot;&apos;&amp;</name></u>"
        )

    def test_form_fields(self):
        body = render_body("name={{v}}&role=user", "form", [layer(v="m&role=admin x+%")])
        assert body == "name=m%26role%3Dadmin+x%2B%25&role=user"

    def test_text_is_plain(self):
        assert render_body('say "{{v}}"', "text", [layer(v='a"<b>')]) == 'say "a"<b>"'

    def test_the_analysis_is_cached_per_template_and_format(self):
        from capabilities_app.runtime import templating

        templating._body_template.cache_clear()
        for name in ("a", "b"):
            render_body('{"n": "{{n}}"}', "json", [layer(n=name)])
        info = templating._body_template.cache_info()
        assert (info.misses, info.hits) == (1, 1)
