"""``num_parallel=`` transitions and @parallel steps: parsing and lint rules 16 to 18."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ketch.exceptions import LintError
from ketch.graph import format_show, lint, lint_all
from ketch.graph._model import PARALLEL_VAR

if TYPE_CHECKING:
    from conftest import FlowFile, MakeFlow

GANG = """
class MyFlow:
    @step
    def start(self):
        self.next(self.train, num_parallel=3)

    @parallel
    @step
    def train(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass
"""


def first_error(flow: FlowFile) -> LintError:
    with pytest.raises(LintError) as info:
        lint(flow.graph)
    assert info.value.file == str(flow.path)
    assert info.value.hint
    return info.value


def test_gang_parses_as_a_foreach_over_the_node_indices(make_flow: MakeFlow) -> None:
    flow = make_flow(GANG)
    lint(flow.graph)
    start = flow.graph["start"]
    assert (start.type, start.num_parallel, start.foreach_param) == ("foreach", 3, PARALLEL_VAR)
    assert start.matching_join == "join"
    assert flow.graph["train"].is_parallel_step
    assert flow.graph.closing_split("join") == "start"
    assert "=> train (num_parallel=3)" in format_show(flow.graph)


def test_rule_16_num_parallel_into_a_step_without_parallel(make_flow: MakeFlow) -> None:
    flow = make_flow(GANG.replace("    @parallel\n", ""))
    error = first_error(flow)
    assert (error.step, error.line) == ("start", flow.line("num_parallel=3"))
    assert "not decorated with @parallel" in error.detail
    assert "@parallel" in error.hint


def test_rule_17_the_step_after_a_parallel_step_is_a_join(make_flow: MakeFlow) -> None:
    flow = make_flow(
        GANG.replace("self.next(self.join)", "self.next(self.more)").replace(
            "    @step\n    def join",
            "    @step\n    def more(self):\n        self.next(self.join)\n\n"
            "    @step\n    def join",
        )
    )
    error = first_error(flow)
    assert (error.step, error.line) == ("train", flow.line("self.next(self.more)"))
    assert "must be a join" in error.detail


def test_rule_18_parallel_step_reached_without_num_parallel(make_flow: MakeFlow) -> None:
    source = GANG.replace("self.next(self.train, num_parallel=3)", "self.next(self.train)")
    flow = make_flow(source)
    errors = [e for e in lint_all(flow.graph) if "without num_parallel" in e.detail]
    assert len(errors) == 1
    assert (errors[0].step, errors[0].line) == ("start", flow.line("self.next(self.train)"))
    assert "num_parallel=N" in errors[0].hint


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0", "num_parallel=0 is not an integer literal >= 1"),
        ("n", "num_parallel=n is not an integer literal >= 1"),
        ("2.0", "num_parallel=2.0 is not an integer literal >= 1"),
        ("True", "num_parallel=True is not an integer literal >= 1"),
    ],
)
def test_num_parallel_must_be_a_literal_int(make_flow: MakeFlow, value: str, text: str) -> None:
    flow = make_flow(GANG.replace("num_parallel=3", f"num_parallel={value}"))
    error = first_error(flow)
    assert error.step == "start"
    assert text in error.detail


def test_num_parallel_takes_one_target_and_no_foreach(make_flow: MakeFlow) -> None:
    flow = make_flow(
        GANG.replace("num_parallel=3)", "num_parallel=3, foreach='xs')"),
    )
    error = first_error(flow)
    assert "exactly one step and no foreach=" in error.detail
