"""``self.next({...}, condition=...)`` inside a running step: the choice and its errors."""

from __future__ import annotations

from typing import Any

import pytest

from ketch import FlowSpec, step
from ketch.datastore import open_blobs
from ketch.exceptions import InvalidNextError
from ketch.flow import TaskState


class ChoiceFlow(FlowSpec):
    @step
    def start(self) -> None:
        self.next({"a": self.a, "b": self.b}, condition="mode")

    @step
    def a(self) -> None:
        self.next(self.end)

    @step
    def b(self) -> None:
        self.next(self.end)

    @step
    def end(self) -> None:
        pass


def running(mode: Any = "b", **extra: Any) -> tuple[Any, TaskState]:
    """A ChoiceFlow object as inside its start step, with ``self.mode`` set."""
    state = TaskState(
        pathspec="ChoiceFlow/1/start/1",
        step_name="start",
        artifacts={},
        readonly=frozenset(),
        blobs=open_blobs("memory://switch-next"),
    )
    flow = ChoiceFlow(use_cli=False)
    object.__setattr__(flow, "_ketch", state)
    flow.mode = mode
    for name, value in extra.items():
        setattr(flow, name, value)
    return flow, state


def test_the_value_of_the_condition_picks_one_step() -> None:
    flow, state = running("b")
    flow.next({"a": flow.a, "b": flow.b}, condition="mode")
    assert state.transition == (("b",), None)


def test_number_keys_and_a_shared_target() -> None:
    flow, state = running(2)
    flow.next({1: flow.a, 2: flow.b, 3: flow.b}, condition="mode")
    assert state.transition == (("b",), None)


def test_a_value_that_names_no_case_raises_runtime_error() -> None:
    flow, _ = running("c")
    with pytest.raises(RuntimeError) as info:
        flow.next({"a": flow.a, "b": flow.b}, condition="mode")
    assert str(info.value) == (
        "Switch condition variable 'mode' has value 'c' which is not in the available cases: "
        "['a', 'b']"
    )


def test_an_unhashable_value_names_no_case() -> None:
    flow, _ = running(["a"])
    with pytest.raises(RuntimeError, match="which is not in the available cases"):
        flow.next({"a": flow.a, "b": flow.b}, condition="mode")


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (lambda f: f.next({"a": f.a, "b": f.b}), "needs condition="),
        (lambda f: f.next({"a": f.a}, f.b, condition="mode"), "exactly one non-empty dict"),
        (lambda f: f.next({}, condition="mode"), "exactly one non-empty dict"),
        (lambda f: f.next({"a": f.a, "b": f.b}, condition=3), "name of an attribute"),
        (lambda f: f.next({"a": f.a}, condition="nothing"), "'nothing' is not set"),
        (lambda f: f.next({"a": f.a}, condition="mode", foreach="x"), "cannot be combined"),
        (lambda f: f.next({"b": "end"}, condition="mode"), "is not a step of ChoiceFlow"),
    ],
)
def test_malformed_switches_raise_invalid_next(call: Any, text: str) -> None:
    flow, _ = running("b")
    with pytest.raises(InvalidNextError) as info:
        call(flow)
    assert text in str(info.value)


def test_next_twice_is_an_error() -> None:
    flow, _ = running("b")
    flow.next({"a": flow.a, "b": flow.b}, condition="mode")
    with pytest.raises(InvalidNextError, match="more than once"):
        flow.next({"a": flow.a, "b": flow.b}, condition="mode")


def test_iteration_stack_outside_a_task_is_empty() -> None:
    assert ChoiceFlow(use_cli=False)._iteration_stack == []
