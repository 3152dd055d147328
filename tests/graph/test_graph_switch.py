"""Switch transitions in the static graph: parsing, the lint rules about them, and rendering."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ketch.exceptions import LintError
from ketch.graph import format_dot, format_show, graph_to_dict, lint, lint_all

if TYPE_CHECKING:
    from conftest import FlowFile, MakeFlow

SIMPLE = """
class MyFlow:
    @step
    def start(self):
        self.next(self.choose)

    @step
    def choose(self):
        self.mode = "b"
        self.next({"a": self.a, "b": self.b, 3: self.c, -1.5: self.c}, condition="mode")

    @step
    def a(self):
        self.next(self.end)

    @step
    def b(self):
        self.next(self.end)

    @step
    def c(self):
        self.next(self.end)

    @step
    def end(self):
        pass
"""

LOOP = """
class MyFlow:
    @step
    def start(self):
        self.next(self.loop)

    @step
    def loop(self):
        self.next({"again": self.loop, "done": self.end}, condition="state")

    @step
    def end(self):
        pass
"""


def lint_error(flow: FlowFile) -> LintError:
    with pytest.raises(LintError) as info:
        lint(flow.graph)
    assert info.value.file == str(flow.path)
    assert info.value.hint
    return info.value


def test_a_switch_is_parsed_into_its_cases_and_condition(make_flow: MakeFlow) -> None:
    flow = make_flow(SIMPLE)
    node = flow.graph["choose"]
    assert node.type == "split-switch" and node.is_switch and not node.is_recursive
    assert node.condition == "mode"
    assert node.switch_cases == (("a", "a"), ("b", "b"), (3, "c"), (-1.5, "c"))
    assert node.out_funcs == ("a", "b", "c")  # distinct, in the order of the cases
    assert node.has_valid_next
    assert flow.graph["end"].in_funcs == ("a", "b", "c")
    lint(flow.graph)  # the cases meet again at end: a switch opens no split


def test_a_config_expression_is_kept_as_its_source_text(make_flow: MakeFlow) -> None:
    flow = make_flow(
        SIMPLE.replace('{"a": self.a,', "{self.config.fast: self.a,").replace(
            '"b": self.b', "self.cfg.modes.slow: self.b"
        )
    )
    cases = dict(flow.graph["choose"].switch_cases)
    assert cases["self.config.fast"] == "a"
    assert cases["self.cfg.modes.slow"] == "b"


def test_a_recursive_switch_is_the_one_loop_lint_allows(make_flow: MakeFlow) -> None:
    flow = make_flow(LOOP)
    node = flow.graph["loop"]
    assert node.is_recursive
    assert node.in_funcs == ("loop", "start")
    assert [n.name for n in flow.graph.topological()] == ["start", "loop", "end"]
    lint(flow.graph)


def test_a_loop_through_another_step_is_still_an_error(make_flow: MakeFlow) -> None:
    flow = make_flow(
        LOOP.replace('"again": self.loop', '"again": self.back').replace(
            "    @step\n    def end",
            "    @step\n    def back(self):\n        self.next(self.loop)\n\n"
            "    @step\n    def end",
        )
    )
    error = lint_error(flow)
    assert "has a loop" in error.detail
    assert "switch back to itself" in error.hint


def test_a_switch_with_one_case_is_an_error(make_flow: MakeFlow) -> None:
    flow = make_flow(LOOP.replace('{"again": self.loop, "done": self.end}', '{"done": self.end}'))
    error = lint_error(flow)
    assert error.step == "loop" and error.line == flow.line('{"done": self.end}')
    assert "defines 1 transition" in error.detail


def test_two_keys_may_lead_to_the_same_step(make_flow: MakeFlow) -> None:
    # As in Metaflow: the rule counts cases, not distinct steps.
    flow = make_flow(LOOP.replace('"again": self.loop', '"again": self.end'))
    assert flow.graph["loop"].out_funcs == ("end",)
    lint(flow.graph)


def test_a_switch_without_cases_is_an_error(make_flow: MakeFlow) -> None:
    flow = make_flow(LOOP.replace('{"again": self.loop, "done": self.end}', "{}"))
    error = lint_error(flow)
    assert error.step == "loop" and "defines no cases" in error.detail


def test_an_empty_condition_is_an_error(make_flow: MakeFlow) -> None:
    flow = make_flow(LOOP.replace('condition="state"', 'condition=""'))
    assert "names no condition" in lint_error(flow).detail


SWITCH_INTO_JOIN = """
class MyFlow:
    @step
    def start(self):
        self.next(self.a, self.b)

    @step
    def a(self):
        self.next({"x": self.x, "y": self.join}, condition="mode")

    @step
    def x(self):
        self.next(self.join)

    @step
    def b(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass
"""


def test_a_switch_case_straight_into_a_join_is_an_error(make_flow: MakeFlow) -> None:
    flow = make_flow(SWITCH_INTO_JOIN)
    error = lint_error(flow)
    assert error.step == "join" and error.line == flow.line("def join")
    assert "cannot go directly to a join" in error.detail and "'a'" in error.detail
    assert [e.detail for e in lint_all(flow.graph)] == [error.detail]


def test_a_switch_inside_a_branch_passes_the_split_through(make_flow: MakeFlow) -> None:
    flow = make_flow(
        SWITCH_INTO_JOIN.replace('"y": self.join', '"y": self.y').replace(
            "    @step\n    def b(self)",
            "    @step\n    def y(self):\n        self.next(self.join)\n\n"
            "    @step\n    def b(self)",
        )
    )
    lint(flow.graph)
    assert flow.graph["x"].split_parents == ("start",)
    assert flow.graph.branch_positions() == {
        ("join", "b"): 1,
        ("join", "x"): 0,
        ("join", "y"): 0,
    }


def test_a_switch_case_that_leaves_a_split_open_is_an_error(make_flow: MakeFlow) -> None:
    flow = make_flow(SWITCH_INTO_JOIN.replace('"y": self.join', '"y": self.end'))
    error = lint_error(flow)
    assert "unrelated splits" in error.detail or "still open" in error.detail


def test_show_dot_and_dict_present_the_switch(make_flow: MakeFlow) -> None:
    flow = make_flow(LOOP)
    assert "=> loop, end (switch on 'state')" in format_show(flow.graph)
    dot = format_dot(flow.graph)
    assert '"loop" [ label = <<b>loop</b><br/><font point-size="9">switch: state</font>>' in dot
    assert 'shape = "hexagon"' in dot
    assert '"loop" -> "loop" [label="again" color="blue" fontcolor="blue"];' in dot
    assert '"start" -> "loop";' in dot
    step = graph_to_dict(flow.graph)["steps"]["loop"]
    assert step["type"] == "split-switch"
    assert step["condition"] == "state"
    assert step["switch_cases"] == [["again", "loop"], ["done", "end"]]
    assert "condition" not in graph_to_dict(flow.graph)["steps"]["start"]
