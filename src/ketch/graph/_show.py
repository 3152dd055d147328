"""Render a flow graph for people (``flow.py show``) and as plain data (UI, run records)."""

from __future__ import annotations

from typing import Any

from ketch.graph._model import FlowGraph, StepNode

_INDENT = "    "


def display_order(graph: FlowGraph) -> list[str]:
    """Steps in the order a reader follows the flow: from the start, branch after branch.

    Steps the start cannot reach come last, in source order.
    """
    order = [node.name for node in graph.topological()]
    placed = set(order)
    return order + [name for name in graph.nodes if name not in placed]


def format_show(graph: FlowGraph) -> str:
    """The text of ``python flow.py show``: the flow docstring, then every step.

    Each step shows its decorators, its name, its docstring (``?`` when it has none) and
    where it goes next.

    Parameters
    ----------
    graph
        A graph from :func:`ketch.graph.build_graph`.

    Returns
    -------
    str
        Lines ending with a newline.

    Examples
    --------
    >>> print(format_show(build_graph(HelloFlow)))  # doctest: +SKIP
    A flow where ketch says hi.
    <BLANKLINE>
    Step start
        This is the start step.
        => hello
    ...
    """
    blocks: list[str] = []
    if graph.doc:
        blocks.append(graph.doc)
    blocks.extend(_format_step(graph[name]) for name in display_order(graph))
    return "\n\n".join(blocks) + "\n"


def _format_step(node: StepNode) -> str:
    lines = [f"@{name}" for name in node.decorators if name != "step"]
    lines.append(f"Step {node.name}")
    lines.extend(_indent(line) for line in (node.doc or "?").splitlines())
    if node.type != "end" and node.out_funcs:
        successors = f"=> {', '.join(node.out_funcs)}"
        if node.num_parallel:
            successors += f" (num_parallel={node.num_parallel})"
        elif node.foreach_param is not None:
            successors += f" (foreach over '{node.foreach_param}')"
        lines.append(_indent(successors))
    return "\n".join(lines)


def _indent(line: str) -> str:
    return _INDENT + line if line.strip() else ""


def graph_to_dict(graph: FlowGraph) -> dict[str, Any]:
    """The graph as JSON-able data, for the UI and for the record of each run.

    Returns
    -------
    dict
        ``flow_name``, ``file``, ``doc``, ``start``, ``end``, ``order`` (the display order)
        and ``steps``: for each step, in display order, its ``type``, ``next``,
        ``foreach``, ``doc``, ``file``, ``line``, ``decorators``, ``in_funcs``,
        ``split_parents`` and ``matching_join``.

    Examples
    --------
    >>> graph_to_dict(build_graph(HelloFlow))["steps"]["start"]["next"]  # doctest: +SKIP
    ['hello']
    """
    order = display_order(graph)
    return {
        "flow_name": graph.flow_name,
        "file": graph.file,
        "line": graph.lineno,
        "doc": graph.doc,
        "start": graph.start,
        "end": graph.end,
        "order": order,
        "steps": {name: _step_to_dict(graph, graph[name]) for name in order},
    }


def _step_to_dict(graph: FlowGraph, node: StepNode) -> dict[str, Any]:
    return {
        "name": node.name,
        "type": node.type,
        "next": list(node.out_funcs),
        "foreach": node.foreach_param,
        "doc": node.doc,
        "file": node.file or graph.file,
        "line": node.lineno,
        "decorators": list(node.decorators),
        "num_args": node.num_args,
        "in_funcs": list(node.in_funcs),
        "split_parents": list(node.split_parents),
        "matching_join": node.matching_join,
        "num_parallel": node.num_parallel,
    }
