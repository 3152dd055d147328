"""Valid flows of every shape: types, in_funcs, split_parents and matching_join."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ketch.graph import lint, lint_all

if TYPE_CHECKING:  # conftest is not importable as a module when several test dirs have one
    from conftest import MakeFlow

LINEAR = """
class MyFlow:
    @step
    def start(self):
        self.next(self.a)

    @step
    def a(self):
        self.next(self.end)

    @step
    def end(self):
        pass
"""

BRANCH = """
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
        self.next(self.end)

    @step
    def end(self):
        pass
"""

NESTED_BRANCHES = """
class MyFlow:
    @step
    def start(self):
        self.next(self.a, self.b)

    @step
    def a(self):
        self.next(self.a1, self.a2)

    @step
    def a1(self):
        self.next(self.a_join)

    @step
    def a2(self):
        self.next(self.a_join)

    @step
    def a_join(self, inputs):
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

FOREACH = """
class MyFlow:
    @step
    def start(self):
        self.items = [1, 2, 3]
        self.next(self.body, foreach="items")

    @step
    def body(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass
"""

NESTED_FOREACH = """
class MyFlow:
    @step
    def start(self):
        self.xs = [1, 2]
        self.next(self.outer, foreach="xs")

    @step
    def outer(self):
        self.ys = "ab"
        self.next(self.inner, foreach="ys")

    @step
    def inner(self):
        self.next(self.inner_join)

    @step
    def inner_join(self, inputs):
        self.next(self.outer_join)

    @step
    def outer_join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass
"""

BRANCH_IN_FOREACH = """
class MyFlow:
    @step
    def start(self):
        self.items = [1, 2]
        self.next(self.body, foreach="items")

    @step
    def body(self):
        self.next(self.left, self.right)

    @step
    def left(self):
        self.next(self.branch_join)

    @step
    def right(self):
        self.next(self.branch_join)

    @step
    def branch_join(self, inputs):
        self.next(self.foreach_join)

    @step
    def foreach_join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass
"""

FOREACH_IN_BRANCH = """
class MyFlow:
    @step
    def start(self):
        self.next(self.a, self.b)

    @step
    def a(self):
        self.items = [1, 2]
        self.next(self.a_body, foreach="items")

    @step
    def a_body(self):
        self.next(self.a_join)

    @step
    def a_join(self, inputs):
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

# name -> (type, in_funcs, split_parents, matching_join)
Expected = dict[str, tuple[str, tuple[str, ...], tuple[str, ...], str | None]]

SHAPES: dict[str, tuple[str, Expected]] = {
    "linear": (
        LINEAR,
        {
            "start": ("start", (), (), None),
            "a": ("linear", ("start",), (), None),
            "end": ("end", ("a",), (), None),
        },
    ),
    "branch": (
        BRANCH,
        {
            "start": ("split", (), (), "join"),
            "a": ("linear", ("start",), ("start",), None),
            "b": ("linear", ("start",), ("start",), None),
            "join": ("join", ("a", "b"), (), None),
            "end": ("end", ("join",), (), None),
        },
    ),
    "nested_branches": (
        NESTED_BRANCHES,
        {
            "start": ("split", (), (), "join"),
            "a": ("split", ("start",), ("start",), "a_join"),
            "a1": ("linear", ("a",), ("start", "a"), None),
            "a2": ("linear", ("a",), ("start", "a"), None),
            "a_join": ("join", ("a1", "a2"), ("start",), None),
            "b": ("linear", ("start",), ("start",), None),
            "join": ("join", ("a_join", "b"), (), None),
            "end": ("end", ("join",), (), None),
        },
    ),
    "foreach": (
        FOREACH,
        {
            "start": ("foreach", (), (), "join"),
            "body": ("linear", ("start",), ("start",), None),
            "join": ("join", ("body",), (), None),
            "end": ("end", ("join",), (), None),
        },
    ),
    "nested_foreach": (
        NESTED_FOREACH,
        {
            "start": ("foreach", (), (), "outer_join"),
            "outer": ("foreach", ("start",), ("start",), "inner_join"),
            "inner": ("linear", ("outer",), ("start", "outer"), None),
            "inner_join": ("join", ("inner",), ("start",), None),
            "outer_join": ("join", ("inner_join",), (), None),
            "end": ("end", ("outer_join",), (), None),
        },
    ),
    "branch_in_foreach": (
        BRANCH_IN_FOREACH,
        {
            "start": ("foreach", (), (), "foreach_join"),
            "body": ("split", ("start",), ("start",), "branch_join"),
            "left": ("linear", ("body",), ("start", "body"), None),
            "right": ("linear", ("body",), ("start", "body"), None),
            "branch_join": ("join", ("left", "right"), ("start",), None),
            "foreach_join": ("join", ("branch_join",), (), None),
            "end": ("end", ("foreach_join",), (), None),
        },
    ),
    "foreach_in_branch": (
        FOREACH_IN_BRANCH,
        {
            "start": ("split", (), (), "join"),
            "a": ("foreach", ("start",), ("start",), "a_join"),
            "a_body": ("linear", ("a",), ("start", "a"), None),
            "a_join": ("join", ("a_body",), ("start",), None),
            "b": ("linear", ("start",), ("start",), None),
            "join": ("join", ("a_join", "b"), (), None),
            "end": ("end", ("join",), (), None),
        },
    ),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_valid_shapes_pass_lint(make_flow: MakeFlow, shape: str) -> None:
    graph = make_flow(SHAPES[shape][0]).graph
    assert lint_all(graph) == []
    lint(graph)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_shape_structure(make_flow: MakeFlow, shape: str) -> None:
    source, expected = SHAPES[shape]
    graph = make_flow(source).graph
    assert set(graph.nodes) == set(expected)
    actual = {
        node.name: (node.type, node.in_funcs, node.split_parents, node.matching_join)
        for node in graph
    }
    assert actual == expected


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_closing_split_inverts_matching_join(make_flow: MakeFlow, shape: str) -> None:
    graph = make_flow(SHAPES[shape][0]).graph
    for node in graph:
        if node.matching_join is not None:
            assert graph.closing_split(node.matching_join) == node.name
        if node.type == "join":
            assert graph.closing_split(node.name) is not None


def test_topological_lists_branches_one_after_the_other(make_flow: MakeFlow) -> None:
    graph = make_flow(NESTED_BRANCHES).graph
    assert [node.name for node in graph.topological()] == [
        "start",
        "a",
        "a1",
        "a2",
        "a_join",
        "b",
        "join",
        "end",
    ]


def test_foreach_param_and_out_funcs(make_flow: MakeFlow) -> None:
    graph = make_flow(NESTED_FOREACH).graph
    assert graph["start"].foreach_param == "xs"
    assert graph["outer"].foreach_param == "ys"
    assert graph["outer"].out_funcs == ("inner",)
    assert graph["outer"].is_foreach
    assert graph["inner_join"].is_join
    assert graph["inner"].foreach_param is None


def test_downstream(make_flow: MakeFlow) -> None:
    graph = make_flow(NESTED_BRANCHES).graph
    assert graph.downstream("a") == {"a", "a1", "a2", "a_join", "join", "end"}
