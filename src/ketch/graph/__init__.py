"""The static graph of a flow: parsed from source, linted, shown.

``build_graph`` reads a flow class into a frozen :class:`FlowGraph`; ``lint`` checks it
against the graph rules (each error cites file:line and a fix); ``format_show`` and
``graph_to_dict`` render it. This package never imports the runtime.

Examples
--------
>>> graph = build_graph(HelloFlow)  # doctest: +SKIP
>>> lint(graph)  # doctest: +SKIP
>>> print(format_show(graph))  # doctest: +SKIP
"""

from __future__ import annotations

from ketch.graph._lint import lint, lint_all
from ketch.graph._model import FlowGraph, StepNode
from ketch.graph._parse import build_graph
from ketch.graph._show import format_dot, format_show, graph_to_dict

__all__ = [
    "FlowGraph",
    "StepNode",
    "build_graph",
    "format_dot",
    "format_show",
    "graph_to_dict",
    "lint",
    "lint_all",
]
