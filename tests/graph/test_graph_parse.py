"""What build_graph reads from a flow's source: steps, lines, docs, decorators, annotations."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import ketch.graph
from ketch.exceptions import FlowDefinitionError
from ketch.graph import build_graph, lint, lint_all

if TYPE_CHECKING:
    from conftest import MakeFlow

DOCUMENTED = '''
import types

mod = types.SimpleNamespace(card=card)


class MyFlow:
    """Train a model.

    Then evaluate it.
    """

    not_a_step = 3

    def helper(self):
        return 1

    @step
    def start(self):
        """Load the data.

        From disk.
        """
        self.items = [1, 2]
        self.next(self.train, foreach="items")

    @retry(times=2)
    @catch
    @mod.card(type="blank")
    @step
    def train(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        "Pick the best."
        self.next(self.end)

    @step
    def end(self):
        pass
'''


def test_steps_lines_and_source_order(make_flow: MakeFlow) -> None:
    flow = make_flow(DOCUMENTED)
    graph = flow.graph
    assert list(graph.nodes) == ["start", "train", "join", "end"]
    assert graph.flow_name == "MyFlow"
    assert graph.file == str(flow.path)
    assert graph.lineno == flow.line("class MyFlow")
    assert (graph.start, graph.end) == ("start", "end")
    assert graph["train"].lineno == flow.line("def train")
    assert graph["start"].next_lineno == flow.line('self.next(self.train, foreach="items")')
    assert graph["end"].next_lineno == 0
    assert all(node.file == str(flow.path) for node in graph)


def test_docs_decorators_and_arguments(make_flow: MakeFlow) -> None:
    graph = make_flow(DOCUMENTED).graph
    assert graph.doc == "Train a model.\n\nThen evaluate it."
    assert graph["start"].doc == "Load the data.\n\nFrom disk."
    assert graph["join"].doc == "Pick the best."
    assert graph["train"].doc == ""
    assert graph["train"].decorators == ("retry", "catch", "card", "step")
    assert graph["start"].decorators == ("step",)
    assert [graph[n].num_args for n in ("start", "train", "join", "end")] == [1, 1, 2, 1]
    assert graph["start"].has_valid_next and graph["start"].next_problems == ()


def test_annotated_start_and_end(make_flow: MakeFlow) -> None:
    graph = make_flow(
        """
        class MyFlow:
            @step(start=True)
            def begin(self):
                self.next(self.middle)

            @step
            def middle(self):
                self.next(self.finish)

            @step(end=True)
            def finish(self):
                pass
        """
    ).graph
    assert (graph.start, graph.end) == ("begin", "finish")
    assert graph["begin"].annotated_start and graph["finish"].annotated_end
    assert [graph[n].type for n in ("begin", "middle", "finish")] == ["start", "linear", "end"]
    assert lint_all(graph) == []


@pytest.mark.parametrize("attribute", ["step_start", "is_start_step"])
def test_annotation_set_by_the_decorator_itself(make_flow: MakeFlow, attribute: str) -> None:
    graph = make_flow(
        f"""
        def entry(f):
            f.is_step = True
            f.{attribute} = True
            return f


        class MyFlow:
            @entry
            def begin(self):
                self.next(self.end)

            @step
            def end(self):
                pass
        """
    ).graph
    assert graph.start == "begin"
    lint(graph)


def test_single_step_flow(make_flow: MakeFlow) -> None:
    graph = make_flow(
        """
        class MyFlow:
            @step
            def only(self):
                pass
        """
    ).graph
    assert (graph.start, graph.end) == ("only", "only")
    assert graph["only"].type == "end"
    lint(graph)


def test_no_start_leaves_start_empty(make_flow: MakeFlow) -> None:
    graph = make_flow(
        """
        class MyFlow:
            @step
            def a(self):
                self.next(self.end)

            @step
            def end(self):
                pass
        """
    ).graph
    assert graph.start == ""
    assert graph.topological() == []
    assert all(node.split_parents == () for node in graph)


def test_inherited_steps_from_another_file(make_flow: MakeFlow) -> None:
    base = make_flow(
        """
        class BaseFlow:
            @step
            def start(self):
                self.next(self.train)

            @step
            def train(self):
                self.next(self.end)

            @step
            def end(self):
                pass
        """,
        name="BaseFlow",
    )
    child = make_flow(
        f"""
        from {base.path.stem} import BaseFlow


        class MyFlow(BaseFlow):
            \"\"\"Child.\"\"\"

            @step
            def train(self):
                self.next(self.extra)

            @step
            def extra(self):
                self.next(self.end)
        """
    )
    graph = child.graph
    assert list(graph.nodes) == ["start", "end", "train", "extra"]
    assert graph.file == str(child.path)
    assert graph["start"].file == str(base.path)
    assert graph["start"].lineno == base.line("def start")
    assert graph["train"].file == str(child.path)
    assert graph["train"].out_funcs == ("extra",)
    assert graph.doc == "Child."
    lint(graph)


def test_plain_method_hides_an_inherited_step(make_flow: MakeFlow) -> None:
    graph = make_flow(
        """
        class BaseFlow:
            @step
            def start(self):
                self.next(self.end)

            @step
            def debug(self):
                self.next(self.end)

            @step
            def end(self):
                pass


        class MyFlow(BaseFlow):
            def debug(self):
                return None
        """
    ).graph
    assert list(graph.nodes) == ["start", "end"]


COLUMN_ZERO = '''
class MyFlow:
    @step
    def start(this):
        this.text = """
not indented
"""
        this.next(this.end)

    @step
    def end(this):
        pass
'''


def test_string_at_column_zero_and_other_self_name(make_flow: MakeFlow) -> None:
    # The column-0 string defeats textwrap.dedent on the step's source.
    flow = make_flow(COLUMN_ZERO)
    graph = flow.graph
    assert graph["start"].out_funcs == ("end",)
    assert graph["start"].lineno == flow.line("def start")
    assert graph["start"].next_lineno == flow.line("this.next(this.end)")
    lint(graph)


def test_misplaced_next_is_recorded(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                for _ in range(1):
                    self.next(self.end)
                print("done")

            @step
            def end(self):
                pass
        """
    )
    node = flow.graph["start"]
    assert (node.has_next, node.has_valid_next, node.out_funcs) == (False, False, ())
    assert node.next_problems == (
        f"self.next() is called on line {flow.line('self.next(self.end)')}, "
        "but not as the last statement",
    )


def test_malformed_transition_is_recorded_not_raised(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.next(self.a, self.b, foreach=42)

            @step
            def end(self):
                pass
        """
    )
    node = flow.graph["start"]
    assert node.type == "foreach" and node.foreach_param is None
    assert node.out_funcs == ("a", "b")
    assert node.next_lineno == flow.line("self.next(self.a")
    assert len(node.next_problems) == 2


def test_step_without_source_raises(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        namespace = {}
        exec("def made(self):\\n    self.next(self.end)\\n", namespace)


        class MyFlow:
            start = step(namespace["made"])

            @step
            def end(self):
                pass
        """
    )
    with pytest.raises(FlowDefinitionError, match="source of step 'start' of flow MyFlow"):
        build_graph(flow.cls)


def test_class_without_file_raises() -> None:
    orphan = type("Nowhere", (), {"__module__": "sys"})
    with pytest.raises(FlowDefinitionError, match="flow Nowhere"):
        build_graph(orphan)


def test_source_that_no_longer_parses_raises(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        class MyFlow:
            @step
            def start(self):
                self.next(self.end)

            @step
            def end(self):
                pass
        """
    )
    text = flow.source.replace("self.next(self.end)", "self.next(self.end")
    Path(flow.path).write_text(text + "\n# changed\n")
    with pytest.raises(FlowDefinitionError, match="Cannot parse the source of step") as info:
        build_graph(flow.cls)
    assert str(flow.path) in str(info.value)


def test_public_api() -> None:
    assert sorted(ketch.graph.__all__) == [
        "FlowGraph",
        "StepNode",
        "build_graph",
        "format_dot",
        "format_show",
        "graph_to_dict",
        "lint",
        "lint_all",
    ]
    for name in ketch.graph.__all__:
        assert getattr(ketch.graph, name).__doc__
