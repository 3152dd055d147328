"""Lint rules about switch steps: enough cases, a condition, no branch straight into a join."""

from __future__ import annotations

from collections.abc import Iterator

from ketch.exceptions import LintError
from ketch.graph._model import FlowGraph
from ketch.graph._rules_steps import at_step
from ketch.graph._switch import SWITCH_FORM


def check_switch_splits(graph: FlowGraph) -> Iterator[LintError]:
    """Rule 14: a switch has a condition and at least two cases."""
    for node in graph:
        if not node.is_switch:
            continue
        if not node.switch_cases:
            yield at_step(
                graph,
                node,
                f"Step '{node.name}' is a switch but defines no cases.",
                f"List the cases as {SWITCH_FORM}.",
                at_next=True,
            )
        elif not node.condition:
            yield at_step(
                graph,
                node,
                f"Step '{node.name}' is a switch but names no condition variable.",
                f"Name the attribute whose value picks the case, as in {SWITCH_FORM}.",
                at_next=True,
            )
        elif len(node.switch_cases) < 2:
            # Metaflow counts the cases, so two keys may lead to the same step.
            yield at_step(
                graph,
                node,
                f"Step '{node.name}' is a switch but defines 1 transition; a switch needs at "
                "least 2 cases.",
                f"Use self.next(self.{node.out_funcs[0]}) for a single transition, or add "
                "another case.",
                at_next=True,
            )


def check_ambiguous_joins(graph: FlowGraph) -> Iterator[LintError]:
    """Rule 20: no switch case leads straight into a join."""
    for node in graph:
        if node.type != "join":
            continue
        switches = [p for p in node.in_funcs if p in graph and graph[p].is_switch]
        if switches:
            names = ", ".join(f"'{p}'" for p in switches)
            yield at_step(
                graph,
                node,
                f"A case of the switch step(s) {names} leads straight into the join "
                f"'{node.name}': a conditional path cannot go directly to a join.",
                f"Add an intermediate, unconditional step on that path, between {names} and "
                f"'{node.name}'.",
            )
