"""format_show (``flow.py show``) and graph_to_dict (UI and run records)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ketch.graph import format_show, graph_to_dict

if TYPE_CHECKING:
    from conftest import MakeFlow

FLOW = '''
class MyFlow:
    """
    Fit models in parallel.

    Then keep the best.
    """

    @step
    def start(self):
        """Split the work.

        Two ways.
        """
        self.next(self.a, self.b)

    @retry(times=1)
    @step
    def a(self):
        self.next(self.join)

    @step
    def b(self):
        "Fan out."
        self.items = [1, 2]
        self.next(self.body, foreach="items")

    @step
    def body(self):
        self.next(self.b_join)

    @step
    def b_join(self, inputs):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        """Done."""
'''

SHOWN = """\
Fit models in parallel.

Then keep the best.

Step start
    Split the work.

    Two ways.
    => a, b

@retry
Step a
    ?
    => join

Step b
    Fan out.
    => body (foreach over 'items')

Step body
    ?
    => b_join

Step b_join
    ?
    => join

Step join
    ?
    => end

Step end
    Done.
"""


def test_format_show(make_flow: MakeFlow) -> None:
    assert format_show(make_flow(FLOW).graph) == SHOWN


def test_show_without_flow_doc_and_with_orphan(make_flow: MakeFlow) -> None:
    graph = make_flow(
        """
        class MyFlow:
            @step
            def lost(self):
                self.next(self.end)

            @step
            def start(self):
                self.next(self.end)

            @step
            def end(self):
                pass
        """
    ).graph
    assert format_show(graph) == (
        "Step start\n    ?\n    => end\n\nStep end\n    ?\n\nStep lost\n    ?\n    => end\n"
    )


def test_graph_to_dict(make_flow: MakeFlow) -> None:
    flow = make_flow(FLOW)
    data = graph_to_dict(flow.graph)
    assert json.loads(json.dumps(data)) == data
    assert data["flow_name"] == "MyFlow"
    assert data["file"] == str(flow.path)
    assert data["line"] == flow.line("class MyFlow")
    assert data["doc"] == "Fit models in parallel.\n\nThen keep the best."
    assert (data["start"], data["end"]) == ("start", "end")
    assert data["order"] == ["start", "a", "b", "body", "b_join", "join", "end"]
    assert list(data["steps"]) == data["order"]
    assert data["steps"]["b"] == {
        "name": "b",
        "type": "foreach",
        "next": ["body"],
        "foreach": "items",
        "doc": "Fan out.",
        "file": str(flow.path),
        "line": flow.line("def b("),
        "decorators": ["step"],
        "num_args": 1,
        "in_funcs": ["start"],
        "split_parents": ["start"],
        "matching_join": "b_join",
        "num_parallel": 0,
    }
    assert data["steps"]["a"]["decorators"] == ["retry", "step"]
    assert data["steps"]["join"]["in_funcs"] == ["a", "b_join"]
    assert data["steps"]["start"]["matching_join"] == "join"
