"""Config, ConfigValue and config_expr in process: reading values, their errors, and how they
are applied to decorator arguments and parameter defaults."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import pytest

from ketch import Config, ConfigValue, FlowSpec, Parameter, config_expr, environment, retry, step
from ketch.exceptions import ConfigError, FlowDefinitionError
from ketch.flow._config_apply import apply_configs, read_configs, resolve_delayed
from ketch.settings import flow_config_env


def test_config_value_reads_like_a_dict_and_an_object_and_refuses_changes() -> None:
    cfg = ConfigValue({"a": {"b": [1, {"c": 2}]}, "n": 3})
    assert cfg.a.b[1].c == 2 and cfg["a"]["b"][1]["c"] == 2 and cfg.a["b"][0] == 1
    assert cfg == {"a": {"b": [1, {"c": 2}]}, "n": 3} and json.loads(json.dumps(cfg))["n"] == 3
    for change in (
        lambda: cfg.__setitem__("n", 1),
        lambda: setattr(cfg, "n", 1),
        lambda: cfg.a.__setitem__("b", 1),
        lambda: cfg.pop("n"),
        lambda: cfg.update(x=1),
        lambda: cfg.setdefault("x", 1),
        lambda: cfg.clear(),
        lambda: delattr(cfg, "n"),
    ):
        with pytest.raises(TypeError, match="ConfigValue is immutable"):
            change()
    with pytest.raises(AttributeError):
        _ = cfg.missing
    plain = cfg.to_dict()
    plain["a"]["b"] = 0  # a copy: the config is unchanged
    assert cfg.a.b[0] == 1 and type(plain["a"]) is dict
    assert pickle.loads(pickle.dumps(cfg)) == cfg and copy.deepcopy(cfg) is cfg


def _flow() -> type[FlowSpec]:
    class CfgFlow(FlowSpec):
        cfg = Config("cfg", default_value={"retries": 2, "env": {"x": "1"}, "alpha": 0.5})
        other = Config("other-name", default_value='{"k": "v"}')
        raw = Config("raw", default_value="just text", plain=True)
        alpha = Parameter("alpha", default=cfg.alpha)
        doubled = Parameter("doubled", default=config_expr("cfg.retries * 2"))

        @retry(times=config_expr("cfg.retries"))
        @environment(vars={"A": cfg.env.x, "K": other.k})
        @step
        def start(self) -> None:
            self.next(self.end)

        @environment(**cfg.env_vars)
        @step
        def end(self) -> None:
            pass

    return CfgFlow


def test_values_come_from_a_value_then_a_file_then_defaults(tmp_path: Path) -> None:
    flow = _flow()
    (tmp_path / "c.json").write_text('{"retries": 1}')
    values = read_configs(flow, {"cfg": str(tmp_path / "c.json")}, {"other-name": '{"k": 2}'})
    assert values == {"cfg": {"retries": 1}, "other": {"k": 2}, "raw": "just text"}
    defaults = read_configs(flow, {}, {})
    assert defaults["other"] == {"k": "v"} and defaults["cfg"]["alpha"] == 0.5


def test_applying_resolves_decorator_arguments_and_parameter_defaults() -> None:
    flow = _flow()
    values = read_configs(flow, {}, {"cfg": {"retries": 3, "env": {"x": "y"}, "alpha": 1.5}})
    values["cfg"]["env_vars"] = {"vars": {"V": "w"}}
    apply_configs(flow, values)
    (retry_deco,) = [d for d in flow.start.decorators if d.name == "retry"]
    env = next(d for d in flow.start.decorators if d.name == "environment")
    assert retry_deco.attributes["times"] == 3 and env.attributes["vars"] == {"A": "y", "K": "v"}
    (end_env,) = flow.end.decorators
    assert end_env.given == {"vars": {"V": "w"}}  # **cfg.env_vars unpacked
    params = flow._parameters()
    assert params["alpha"].default == 1.5 and params["alpha"].type is float
    assert params["doubled"].default == 6
    retry_deco.validate("start")  # the resolved arguments pass the decorator's checks


def test_errors_name_every_config_at_fault(tmp_path: Path) -> None:
    class ReqFlow(FlowSpec):
        need = Config("need", required=True)
        opt = Config("opt", default=str(tmp_path / "missing.json"))
        opt2 = Config("opt2")

    with pytest.raises(ConfigError) as caught:
        read_configs(ReqFlow, {}, {})
    detail = caught.value.detail
    assert "config 'need' is required" in detail and "missing.json" in detail
    assert caught.value.exit_code == 2
    cases = [
        ({}, {"need": "{bad"}, "not valid JSON"),
        ({}, {"need": "[1, 2]"}, "is a list, not a JSON object"),
        ({"need": "x.json"}, {"need": "{}"}, "both a file and a value"),
        ({}, {"nope": "{}", "need": "{}"}, "'nope' is not a config of ReqFlow"),
    ]
    for files, texts, message in cases:
        with pytest.raises(ConfigError, match=message):
            read_configs(ReqFlow, files, {**texts, "opt": "{}"})


def test_default_and_default_value_together_are_refused() -> None:
    with pytest.raises(FlowDefinitionError, match="both default= and default_value="):
        Config("c", default="a.json", default_value={})


def test_parser_callable_dotted_and_plain(tmp_path: Path) -> None:
    def upper(text: str) -> dict[str, str]:
        return {"up": text.strip().upper()}

    class ParsedFlow(FlowSpec):
        a = Config("a", default_value="hello", parser=upper)
        b = Config("b", default_value="x=1", parser="tests_parsers_module.parse")
        c = Config("c", default_value=lambda ctx: {"name": ctx.parameter_name})
        d = Config("d", default_value="[1, 2]", plain=True, parser=json.loads)

    import sys
    import types

    module = types.ModuleType("tests_parsers_module")
    module.parse = lambda text: dict([text.split("=")])  # type: ignore[attr-defined]
    sys.modules["tests_parsers_module"] = module
    try:
        values = read_configs(ParsedFlow, {}, {})
    finally:
        del sys.modules["tests_parsers_module"]
    assert values == {"a": {"up": "HELLO"}, "b": {"x": "1"}, "c": {"name": "c"}, "d": [1, 2]}


def test_delayed_values_resolve_inside_containers() -> None:
    cfg = Config("cfg")
    scope = {"cfg": ConfigValue({"a": {"b": 1}, "xs": [1, 2]})}
    value = {"k": [cfg.a.b, (cfg.xs,)], "e": config_expr("len(cfg.xs) + 1"), "n": 4}
    assert resolve_delayed(value, scope) == {"k": [1, ([1, 2],)], "e": 3, "n": 4}
    assert resolve_delayed(cfg["a"]["b"], scope) == 1


def test_environment_variables_name_files_and_values() -> None:
    env = {"METAFLOW_FLOW_CONFIG_VALUE": '{"a": {"x": 1}}', "KETCH_FLOW_CONFIG": '{"b": "f"}'}
    assert flow_config_env(env) == ({"b": "f"}, {"a": {"x": 1}})
    both = {"KETCH_FLOW_CONFIG_VALUE": '{"a": 2}', "METAFLOW_FLOW_CONFIG_VALUE": '{"a": 1}'}
    assert flow_config_env(both)[1] == {"a": 2}  # ketch's own name wins
    assert flow_config_env({}) == ({}, {})


def test_dependency_and_yaml_parsers() -> None:
    from ketch import (
        conda_environment_yml_parser,
        pyproject_toml_parser,
        requirements_txt_parser,
        yaml_parser,
    )
    from ketch.flow._parsers import ParserValueError

    text = "# deps\nnumpy==1.2\npandas>=2.0  # pinned low\npython==3.10.4\nrequests\n"
    assert requirements_txt_parser(text) == {
        "packages": {"numpy": "1.2", "pandas": ">=2.0", "requests": ""},
        "python": "3.10.4",
    }
    with pytest.raises(ParserValueError, match="option lines"):
        requirements_txt_parser("--index-url x\n")
    toml = "[project]\nrequires-python = '>=3.10'\ndependencies = ['numpy==1.2', 'pandas>=2']\n"
    assert pyproject_toml_parser(toml) == {
        "packages": {"numpy": "1.2", "pandas": ">=2"},
        "python": ">=3.10",
    }
    conda = "name: x\ndependencies:\n  - python=3.10\n  - numpy=1.2\n  - scipy\n"
    assert conda_environment_yml_parser(conda) == {
        "packages": {"numpy": "1.2", "scipy": ""},
        "python": "3.10",
    }
    with pytest.raises(ParserValueError, match="'pip:' subsection"):
        conda_environment_yml_parser("dependencies:\n  - pip:\n    - x\n")
    assert yaml_parser("a: 1\nb: [1, 2]\n") == {"a": 1, "b": [1, 2]}

    class YamlFlow(FlowSpec):
        cfg = Config("cfg", default_value="k: v\n", parser=".yaml_parser")  # ketch's own

    assert read_configs(YamlFlow, {}, {}) == {"cfg": {"k": "v"}}
