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
        if node.is_switch:
            successors += f" (switch on '{node.condition}')"
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
        ``split_parents`` and ``matching_join``; a switch (type ``split-switch``) also has
        ``condition`` and ``switch_cases``, ``[case key, step]`` pairs in source order.

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
        **_switch_fields(node),
        "num_parallel": node.num_parallel,
    }


def _switch_fields(node: StepNode) -> dict[str, Any]:
    if not node.is_switch:
        return {}
    return {
        "condition": node.condition,
        "switch_cases": [[key, step] for key, step in node.switch_cases],
    }


def format_dot(graph: FlowGraph) -> str:
    """The graph in Graphviz's dot language (``flow.py output-dot``).

    Steps are records labelled with their name and type; a switch is a hexagon labelled with
    its condition, and each of its edges carries the case key that takes it.
    """
    nodes: list[str] = []
    edges: list[str] = []
    for name in display_order(graph):
        node = graph[name]
        if node.is_switch:
            nodes.append(
                f'"{name}" [ label = <<b>{name}</b><br/><font point-size="9">switch: '
                f'{node.condition}</font>> fontname = "Helvetica" shape = "hexagon" '
                'style = "filled" fillcolor = "lightgreen" ];'
            )
            edges.extend(
                f'"{name}" -> "{step}" [label="{_dot_text(key)}" color="blue" fontcolor="blue"];'
                for key, step in node.switch_cases
            )
            continue
        kind = "join" if node.is_join else node.type
        nodes.append(
            f'"{name}" [ label = <<b>{name}</b> | <font point-size="10">{kind}</font>> '
            'fontname = "Helvetica" shape = "record" ];'
        )
        edges.extend(f'"{name}" -> "{child}";' for child in node.out_funcs)
    return "digraph {} {{\n{}\n{}\n}}\n".format(graph.flow_name, "\n".join(nodes), "\n".join(edges))


def _dot_text(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"')
