"""The authoring API in process: parameters, decorators and their checks."""

from __future__ import annotations

import pytest

from ketch import IncludeFile, JSONType, Parameter
from ketch.exceptions import DecoratorError, FlowDefinitionError, ParameterError
from ketch.flow import parse_with
from ketch.flow._decorators import RetryDecorator, TimeoutDecorator


def test_parameter_types_are_inferred_from_defaults() -> None:
    assert Parameter("a", default=1).type is int
    assert Parameter("b", default=1.5).type is float
    assert Parameter("c", default=True).type is bool
    assert Parameter("d", default="x").type is str
    assert Parameter("e", default={"k": 1}).type is JSONType
    assert Parameter("f").type is str
    assert Parameter("g", default=lambda ctx: 3).type is str


def test_parameter_conversion_and_errors() -> None:
    assert Parameter("n", type=int).convert("12") == 12
    assert Parameter("flag", type=bool).convert("yes") is True
    assert Parameter("flag", type=bool).convert("0") is False
    assert Parameter("cfg", type=JSONType).convert('{"a": [1]}') == {"a": [1]}
    assert Parameter("xs", separator=",").convert("a,b") == ["a", "b"]
    with pytest.raises(ParameterError, match="'--n': 'x' is not a valid int"):
        Parameter("n", type=int).convert("x")
    with pytest.raises(ParameterError, match="not valid JSON"):
        Parameter("cfg", type=JSONType).convert("{")


def test_required_is_ignored_with_a_default_and_names_are_checked() -> None:
    from ketch import FlowSpec

    assert Parameter("a", default=1, required=True).required is False
    assert Parameter("a", required=True).required is True

    class ReservedFlow(FlowSpec):
        workers = Parameter("max-workers")  # reported when the flow's parameters are read

    line = ReservedFlow.workers.defined_at
    assert line is not None and line[0] == __file__
    with pytest.raises(FlowDefinitionError, match="Parameter 'max-workers' of attribute") as err:
        ReservedFlow._parameters()
    assert f"{__file__}, line {line[1]}" in str(err.value)
    assert "Reserved names:" in err.value.hint


def test_include_file_reads_text_bytes_and_parsed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "f.txt"
    path.write_text("a,b")
    assert IncludeFile("f").load(str(path)) == "a,b"
    assert IncludeFile("f", is_text=False).load(str(path)) == b"a,b"
    assert IncludeFile("f", parser=lambda s: s.split(",")).load(str(path)) == ["a", "b"]
    with pytest.raises(ParameterError, match="cannot read file"):
        IncludeFile("f").load(str(tmp_path / "missing"))


def test_with_specs() -> None:
    deco = parse_with("retry:times=2,minutes_between_retries=0")
    assert isinstance(deco, RetryDecorator)
    assert deco.attributes == {"times": 2, "minutes_between_retries": 0}
    env = parse_with('environment:vars={"A":"1","B":"x,y"}')
    assert env.attributes["vars"] == {"A": "1", "B": "x,y"}
    assert parse_with("timeout:minutes=1.5").attributes["minutes"] == 1.5
    with pytest.raises(DecoratorError, match="unknown decorator 'nope'"):
        parse_with("nope")


def test_decorator_checks() -> None:
    TimeoutDecorator(seconds=5).validate("s")
    assert TimeoutDecorator(minutes=1, seconds=5).seconds == 65
    for bad in (TimeoutDecorator(), TimeoutDecorator(seconds=-1), RetryDecorator(times=1.5)):
        with pytest.raises(DecoratorError):
            bad.validate("s")


def test_iterating_a_flow_yields_its_steps_with_their_names() -> None:
    from ketch import FlowSpec, step

    class IterFlow(FlowSpec):
        @step
        def start(self) -> None:
            self.next(self.middle)

        @step
        def middle(self) -> None:
            self.next(self.end)

        @step
        def end(self) -> None:
            pass

        def helper(self) -> None:
            pass

    flow = IterFlow(use_cli=False)
    assert {s.name for s in flow} == {"start", "middle", "end"}
