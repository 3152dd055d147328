"""Lint rules about gang (``@parallel``) steps, Metaflow's checks 16 to 18.

A ``self.next(self.x, num_parallel=N)`` transition runs N tasks of ``x`` together; ``x`` must
be decorated ``@parallel``, only such a transition may lead to it, and the step after it must be
a join (which receives the N tasks).
"""

from __future__ import annotations

from collections.abc import Iterator

from ketch.exceptions import LintError
from ketch.graph._model import FlowGraph
from ketch.graph._rules_steps import at_step


def check_parallel_after_next(graph: FlowGraph) -> Iterator[LintError]:
    """Rule 16: ``num_parallel=`` leads to a step decorated ``@parallel``."""
    for node in graph:
        if not node.num_parallel:
            continue
        for name in node.out_funcs:
            if name in graph and not graph[name].is_parallel_step:
                yield at_step(
                    graph,
                    node,
                    f"Step '{node.name}' calls self.next(self.{name}, "
                    f"num_parallel={node.num_parallel}), but step '{name}' is not decorated "
                    "with @parallel.",
                    f"Decorate '{name}' with @parallel (above @step), or drop num_parallel= "
                    "to run it once.",
                    at_next=True,
                )


def check_join_after_parallel(graph: FlowGraph) -> Iterator[LintError]:
    """Rule 17: the step after a ``@parallel`` step is a join."""
    for node in graph:
        if not node.is_parallel_step or node.name == graph.end or not node.has_next:
            continue
        nxt = node.out_funcs
        if len(nxt) == 1 and nxt[0] in graph and graph[nxt[0]].is_join and not node.is_foreach:
            continue
        shown = ", ".join(f"self.{n}" for n in nxt) or "nothing"
        yield at_step(
            graph,
            node,
            f"Step '{node.name}' is a @parallel step, so the step after it must be a join "
            f"that receives its tasks, but it calls self.next({shown}).",
            f"Make '{node.name}' go on to a single join step: self.next(self.join), with "
            "def join(self, inputs).",
            at_next=True,
        )


def check_parallel_called_correctly(graph: FlowGraph) -> Iterator[LintError]:
    """Rule 18: a ``@parallel`` step is reached only through ``num_parallel=``."""
    for node in graph:
        if not node.is_parallel_step:
            continue
        for parent in node.in_funcs:
            if parent in graph and not graph[parent].num_parallel:
                yield at_step(
                    graph,
                    graph[parent],
                    f"Step '{parent}' goes on to the @parallel step '{node.name}' without "
                    "num_parallel=, so the size of its gang is unknown.",
                    f"Call self.next(self.{node.name}, num_parallel=N) in '{parent}', with N "
                    "the number of tasks to run together.",
                    at_next=True,
                )
        if node.name == graph.start:
            yield at_step(
                graph,
                node,
                f"The start step '{node.name}' cannot be a @parallel step: nothing calls it "
                "with num_parallel=.",
                "Add a start step that calls self.next(self.<parallel step>, num_parallel=N).",
            )
