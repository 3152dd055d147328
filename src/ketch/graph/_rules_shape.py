"""Lint rules about the shape of the graph: loops, orphans, and splits matched by joins."""

from __future__ import annotations

from collections.abc import Iterator

from ketch.exceptions import LintError
from ketch.graph._model import FlowGraph, StepNode
from ketch.graph._rules_steps import at_step
from ketch.graph._walk import Context, Walk, walk_graph


def _children(graph: FlowGraph, name: str) -> list[str]:
    """The successors of a step, less a switch's edge back to itself (a recursive switch is
    the one loop a flow may have)."""
    node = graph[name]
    return [n for n in node.out_funcs if n in graph and not (node.is_switch and n == name)]


def find_loop(graph: FlowGraph) -> list[str] | None:
    """A loop as a path whose last step is its first one (``[a, b, a]``), or ``None``."""
    state: dict[str, bool] = {}  # False while on the current path, True once finished
    for root in graph.nodes:
        if root in state:
            continue
        path = [root]
        state[root] = False
        pending = [iter(_children(graph, root))]
        while pending:
            for child in pending[-1]:
                if state.get(child) is False:
                    return [*path[path.index(child) :], child]
                if child not in state:
                    state[child] = False
                    path.append(child)
                    pending.append(iter(_children(graph, child)))
                    break
            else:
                state[path.pop()] = True
                pending.pop()
    return None


def check_for_acyclicity(graph: FlowGraph) -> Iterator[LintError]:
    """Rule 11: the graph has no loop, except a switch that can choose its own step again."""
    loop = find_loop(graph)
    if loop is None:
        return
    closer = graph[loop[-2]]
    yield at_step(
        graph,
        closer,
        f"The flow has a loop: {' -> '.join(loop)}.",
        f"A flow must not loop: change self.next() in '{closer.name}' so that it does not "
        f"lead back to '{loop[-1]}'. To repeat work over many values, use foreach; to "
        "repeat one step until a condition holds, let it switch back to itself.",
        at_next=True,
    )


def check_for_orphans(graph: FlowGraph) -> Iterator[LintError]:
    """Rule 12: every step can be reached from the start step."""
    if graph.start not in graph:
        return
    reached = graph.downstream(graph.start)
    for node in graph:
        if node.name not in reached:
            yield at_step(
                graph,
                node,
                f"Step '{node.name}' cannot be reached from the start step '{graph.start}'.",
                f"Add self.next(self.{node.name}) to the step that should run before it, or "
                "delete the step.",
            )


def check_split_join_balance(graph: FlowGraph) -> Iterator[LintError]:
    """Rule 13: every split is closed by one join that receives exactly its branches.

    Reports the end reached while a split is open, a join without a split, a join that takes
    branches of unrelated splits (a cross join), a join missing branches, and a step that
    several branches reach although it is not a join.
    """
    if graph.start not in graph or graph.end not in graph or find_loop(graph) is not None:
        return
    types = {node.name: node.type for node in graph}
    walk = walk_graph(graph.start, {node.name: node.out_funcs for node in graph}, types)
    for name in walk.order:
        node = graph[name]
        if name == graph.end and walk.context[name]:
            yield _open_at_end(graph, node, walk.context[name])
        elif node.type == "join":
            error = _check_join(graph, node, walk)
            if error is not None:
                yield error
        elif len({context for _, context in walk.incoming[name]}) > 1:
            # The cases of a switch may meet again: they leave the open splits as they are.
            yield _merge_without_join(graph, node, walk)


def _open_at_end(graph: FlowGraph, node: StepNode, context: Context) -> LintError:
    split = context[-1][0]
    branches = ", ".join(f"'{n}'" for n in graph[split].out_funcs)
    return at_step(
        graph,
        node,
        f"The end step '{node.name}' is reached while the split at step '{split}' "
        f"(branches {branches}) is still open.",
        f"Add a join step (def join(self, inputs)) that every branch of '{split}' leads to, "
        f"and go from there to '{node.name}'.",
    )


def _check_join(graph: FlowGraph, node: StepNode, walk: Walk) -> LintError | None:
    edges = walk.incoming[node.name]
    contexts = [context for _, context in edges]
    if not any(contexts):
        return at_step(
            graph,
            node,
            f"Step '{node.name}' takes inputs, so it is a join, but no split comes before it.",
            "Remove the inputs argument, or split before it with self.next(self.a, self.b) "
            "or self.next(self.a, foreach='items').",
        )
    if not all(contexts) or len({(c[:-1], c[-1][0]) for c in contexts}) > 1:
        origins = ", ".join(
            f"'{parent}' (from split '{context[-1][0]}')" if context else f"'{parent}'"
            for parent, context in edges
        )
        return at_step(
            graph,
            node,
            f"Step '{node.name}' joins steps of unrelated splits: {origins}.",
            "Close each split with its own join, the innermost split first, then join the "
            "results of the outer split.",
        )
    split = contexts[0][-1][0]
    expected = [n for n in graph[split].out_funcs if n in graph]
    got = {context[-1][1] for context in contexts}
    missing = [n for n in expected if n not in got]
    if not missing:
        return None
    return at_step(
        graph,
        node,
        f"Join '{node.name}' closes the split at step '{split}', which has "
        f"{len(expected)} branches ({', '.join(expected)}), but only "
        f"{', '.join(sorted(got))} lead to it; missing: {', '.join(missing)}.",
        f"Make every branch of '{split}' end with self.next(self.{node.name}).",
    )


def _merge_without_join(graph: FlowGraph, node: StepNode, walk: Walk) -> LintError:
    parents = " and ".join(f"'{parent}'" for parent, _ in walk.incoming[node.name])
    return at_step(
        graph,
        node,
        f"Step '{node.name}' is reached from {parents}, which run in separate branches, but "
        f"'{node.name}' is not a join.",
        f"Make it a join (def {node.name}(self, inputs):), or send the branches to a join "
        "step first.",
    )


def check_empty_foreaches(graph: FlowGraph) -> Iterator[LintError]:
    """Rule 15: a foreach (or a branch of a split) needs a step of its own before the join."""
    for node in graph:
        if node.type not in ("split", "foreach"):
            continue
        joins = [n for n in node.out_funcs if n in graph and graph[n].type == "join"]
        if not joins:
            continue
        join = joins[0]
        if node.is_foreach:
            detail = (
                f"Foreach step '{node.name}' goes straight into the join '{join}', so the "
                "foreach has no body."
            )
            hint = (
                f"Add a body step between them: self.next(self.body, foreach=...) in "
                f"'{node.name}', and self.next(self.{join}) at the end of body."
            )
        else:
            detail = (
                f"Split step '{node.name}' goes straight into the join '{join}': every "
                "branch needs a step of its own before the join."
            )
            hint = f"Add a step on that branch, between '{node.name}' and '{join}'."
        yield at_step(graph, node, detail, hint, at_next=True)
