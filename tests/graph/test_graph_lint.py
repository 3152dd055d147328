"""Every lint rule: a broken flow that triggers it, with file, line, step, message and hint."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ketch.exceptions import LintError
from ketch.graph import lint, lint_all
from ketch.graph._lint import RULES

if TYPE_CHECKING:
    from conftest import FlowFile, MakeFlow


def first_error(flow: FlowFile) -> LintError:
    with pytest.raises(LintError) as info:
        lint(flow.graph)
    error = info.value
    assert error.file == str(flow.path)
    assert error.hint
    assert lint_all(flow.graph)[0].detail == error.detail
    return error


def assert_error(error: LintError, *, step: str, line: int, text: str) -> None:
    assert (error.step, error.line) == (step, line), error.format()
    assert text in error.detail, error.detail


def test_reserved_word(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.next(self.index)

            @step
            def index(self):
                self.next(self.end)

            @step
            def end(self):
                pass
        """
    )
    error = first_error(flow)
    assert_error(error, step="index", line=flow.line("def index"), text="is reserved")


def test_no_start_step(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def begin(self):
                self.next(self.end)

            @step
            def end(self):
                pass
        """
    )
    error = first_error(flow)
    assert_error(error, step="", line=flow.line("class MyFlow"), text="has no start step")
    assert "@step(start=True)" in error.hint


def test_no_end_step(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.next(self.finish)

            @step
            def finish(self):
                pass
        """
    )
    error = first_error(flow)
    assert_error(error, step="", line=flow.line("class MyFlow"), text="has no end step")


def test_two_annotated_start_steps(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step(start=True)
            def one(self):
                self.next(self.end)

            @step(start=True)
            def two(self):
                self.next(self.end)

            @step
            def end(self):
                pass
        """
    )
    error = first_error(flow)
    assert_error(error, step="two", line=flow.line("def two"), text="'one', 'two'")


def test_annotation_conflicts_with_name(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step(start=True)
            def begin(self):
                self.next(self.start)

            @step
            def start(self):
                self.next(self.end)

            @step
            def end(self):
                pass
        """
    )
    error = first_error(flow)
    assert_error(error, step="begin", line=flow.line("def begin"), text="ambiguous")


def test_transition_into_start(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.next(self.a)

            @step
            def a(self):
                self.next(self.start)

            @step
            def end(self):
                pass
        """
    )
    error = first_error(flow)
    assert_error(error, step="start", line=flow.line("def start"), text="target of self.next()")


def test_end_with_outgoing_transition(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.next(self.a)

            @step
            def a(self):
                self.next(self.end)

            @step
            def end(self):
                self.next(self.a)
        """
    )
    error = first_error(flow)
    assert_error(error, step="end", line=flow.line("self.next(self.a)", 2), text="(to 'a')")


def test_end_calls_next(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.next(self.end)

            @step
            def end(self):
                self.next()
        """
    )
    error = first_error(flow)
    assert_error(error, step="end", line=flow.line("self.next()"), text="calls self.next()")


def test_end_is_a_join(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.next(self.a, self.b)

            @step
            def a(self):
                self.next(self.end)

            @step
            def b(self):
                self.next(self.end)

            @step
            def end(self, inputs):
                pass
        """
    )
    error = first_error(flow)
    assert_error(error, step="end", line=flow.line("def end"), text="cannot be a join")


def test_invalid_step_name(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.next(self.TrainModel)

            @step
            def TrainModel(self):
                self.next(self.end)

            @step
            def end(self):
                pass
        """
    )
    error = first_error(flow)
    assert_error(error, step="TrainModel", line=flow.line("def TrainModel"), text="is invalid")
    assert "'train_model'" in error.hint


@pytest.mark.parametrize(
    ("signature", "text"),
    [
        ("a(self, inputs, extra)", "takes 3 arguments"),
        ("a()", "takes no arguments"),
    ],
)
def test_wrong_number_of_arguments(make_flow: MakeFlow, signature: str, text: str) -> None:
    flow = make_flow(
        f"""
        class MyFlow:
            @step
            def start(self):
                self.next(self.a)

            @step
            def {signature}:
                self.next(self.end)

            @step
            def end(self):
                pass
        """
    )
    error = first_error(flow)
    assert_error(error, step="a", line=flow.line("def a("), text=text)


def test_join_that_also_splits(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.next(self.a, self.b)

            @step
            def a(self):
                self.next(self.join)

            @step
            def b(self):
                self.next(self.join)

            @step
            def join(self, inputs):
                self.next(self.c, self.d)

            @step
            def c(self):
                self.next(self.end)

            @step
            def d(self):
                self.next(self.end)

            @step
            def end(self):
                pass
        """
    )
    error = first_error(flow)
    assert_error(error, step="join", line=flow.line("def join"), text="both join and split")


def test_missing_next(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                if True:
                    self.next(self.end)

            @step
            def end(self):
                pass
        """
    )
    error = first_error(flow)
    assert_error(error, step="start", line=flow.line("def start"), text="does not end with")
    assert f"line {flow.line('self.next(self.end)')}" in error.detail


@pytest.mark.parametrize(
    ("call", "text"),
    [
        ("self.next()", "names no step"),
        ("self.next(self.end, foreach=name)", "must be a string literal"),
        ("self.next(self.end, foreach='not valid')", "must be a string literal"),
        ("self.next(self.end, self.other, foreach='xs')", "exactly one step"),
        ("self.next(other.end)", "not a step written as self.<step>"),
        ("self.next(self.end, bogus=1)", "unknown keyword argument 'bogus'"),
        ("self.next({'x': self.end, 'y': self.a})", "needs condition="),
        ("self.next(self.end, condition='c')", "must be written as a dict literal"),
        ("self.next(cases, condition='c')", "must be written as a dict literal"),
        ("self.next({mode: self.end, 'y': self.a}, condition='c')", "not a string or number"),
        ("self.next({self.mode: self.end, 'y': self.a}, condition='c')", "not a string or"),
        ("self.next({'x': self.end, 'y': a}, condition='c')", "not a step written as"),
        ("self.next({'x': self.end, 'y': self.a}, condition=c)", "must be a string literal"),
        ("self.next({'x': self.end, 'y': self.a}, condition='c', foreach='xs')", "foreach="),
        ("self.next({'x': self.end, 'y': self.a}, condition='c', num_parallel=2)", "num_par"),
        ("self.next(self.end, num_parallel=n)", "num_parallel=n is not an integer literal"),
        ("self.next(self.end, num_parallel=0)", "num_parallel=0 is not an integer literal"),
        ("self.next(self.end, self.end)", "more than once"),
        ("self.next(*targets)", "unpacked with *"),
        ("self.next(self.end, **options)", "unpacked with **"),
    ],
)
def test_invalid_transition(make_flow: MakeFlow, call: str, text: str) -> None:
    flow = make_flow(
        f"""
        class MyFlow:
            @step
            def start(self):
                self.next(self.a)

            @step
            def a(self):
                {call}

            @step
            def end(self):
                pass
        """
    )
    error = first_error(flow)
    assert_error(error, step="a", line=flow.line(call), text=text)
    assert "foreach='items'" in error.hint
    assert not flow.graph["a"].has_valid_next


def test_unknown_transition(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.next(self.ned)

            @step
            def end(self):
                pass
        """
    )
    error = first_error(flow)
    assert_error(error, step="start", line=flow.line("self.next(self.ned)"), text="no step 'ned'")
    assert error.hint == "Did you mean self.end?"


def test_loop(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.next(self.a)

            @step
            def a(self):
                self.next(self.b)

            @step
            def b(self):
                self.next(self.a)

            @step
            def end(self):
                pass
        """
    )
    error = first_error(flow)
    assert_error(error, step="b", line=flow.line("self.next(self.a)", 2), text="a -> b -> a")


def test_orphan(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.next(self.end)

            @step
            def lost(self):
                self.next(self.end)

            @step
            def end(self):
                pass
        """
    )
    error = first_error(flow)
    assert_error(error, step="lost", line=flow.line("def lost"), text="cannot be reached")


def test_end_reached_with_open_split(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.next(self.a, self.b)

            @step
            def a(self):
                self.next(self.end)

            @step
            def b(self):
                self.next(self.end)

            @step
            def end(self):
                pass
        """
    )
    error = first_error(flow)
    assert_error(error, step="end", line=flow.line("def end"), text="'start'")
    assert "still open" in error.detail


def test_join_without_split(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.next(self.join)

            @step
            def join(self, inputs):
                self.next(self.end)

            @step
            def end(self):
                pass
        """
    )
    error = first_error(flow)
    assert_error(error, step="join", line=flow.line("def join"), text="no split comes before")


def test_join_missing_a_branch(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.next(self.a, self.b, self.c)

            @step
            def a(self):
                self.next(self.join)

            @step
            def b(self):
                self.next(self.join)

            @step
            def c(self):
                self.next(self.end)

            @step
            def join(self, inputs):
                self.next(self.end)

            @step
            def end(self):
                pass
        """
    )
    error = first_error(flow)
    assert_error(error, step="join", line=flow.line("def join"), text="missing: c")
    assert "3 branches" in error.detail


def test_cross_join(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.next(self.a, self.b)

            @step
            def a(self):
                self.next(self.a1, self.a2)

            @step
            def b(self):
                self.next(self.b1, self.b2)

            @step
            def a1(self):
                self.next(self.j1)

            @step
            def b1(self):
                self.next(self.j1)

            @step
            def a2(self):
                self.next(self.j2)

            @step
            def b2(self):
                self.next(self.j2)

            @step
            def j1(self, inputs):
                self.next(self.join)

            @step
            def j2(self, inputs):
                self.next(self.join)

            @step
            def join(self, inputs):
                self.next(self.end)

            @step
            def end(self):
                pass
        """
    )
    error = first_error(flow)
    assert_error(error, step="j1", line=flow.line("def j1"), text="unrelated splits")


def test_branches_merge_into_a_step_that_is_not_a_join(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.next(self.a, self.b)

            @step
            def a(self):
                self.next(self.c)

            @step
            def b(self):
                self.next(self.c)

            @step
            def c(self):
                self.next(self.join)

            @step
            def join(self, inputs):
                self.next(self.end)

            @step
            def end(self):
                pass
        """
    )
    error = first_error(flow)
    assert_error(error, step="c", line=flow.line("def c"), text="is not a join")
    assert "def c(self, inputs)" in error.hint


def test_empty_foreach(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.items = [1, 2]
                self.next(self.join, foreach="items")

            @step
            def join(self, inputs):
                self.next(self.end)

            @step
            def end(self):
                pass
        """
    )
    error = first_error(flow)
    line = flow.line('self.next(self.join, foreach="items")')
    assert_error(error, step="start", line=line, text="has no body")


def test_split_branch_straight_into_join(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.next(self.a, self.join)

            @step
            def a(self):
                self.next(self.join)

            @step
            def join(self, inputs):
                self.next(self.end)

            @step
            def end(self):
                pass
        """
    )
    error = first_error(flow)
    line = flow.line("self.next(self.a, self.join)")
    assert_error(error, step="start", line=line, text="goes straight into the join 'join'")


def test_lint_all_collects_every_error(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.next(self.ned)

            @step
            def Lost(self):
                pass

            @step
            def end(self):
                pass
        """
    )
    errors = lint_all(flow.graph)
    assert [(e.step, e.line) for e in errors] == [
        ("Lost", flow.line("def Lost")),
        ("Lost", flow.line("def Lost")),
        ("start", flow.line("self.next(self.ned)")),
        ("Lost", flow.line("def Lost")),
        ("end", flow.line("def end")),
    ]
    assert "cannot be reached" in errors[-1].detail


def test_lint_error_format_names_file_and_line(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.next(self.a)

            @step
            def a(self):
                self.next(self.end)

            @step
            def end(self):
                self.next(self.a)
        """
    )
    text = first_error(flow).format()
    assert f"{flow.path}, line {flow.line('self.next(self.a)', 2)}" in text
    assert "(step 'end')" in text
    assert "Hint:" in text


def test_rules_are_documented_functions() -> None:
    assert len(RULES) == len(set(RULES)) == 19
    for rule in RULES:
        assert rule.__name__.startswith("check_")
        assert rule.__doc__
