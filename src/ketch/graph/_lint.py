"""Validate a flow graph: one function per rule, run in Metaflow's order.

Every rule yields :class:`~ketch.exceptions.LintError` values that name the file and line of
the offending code, the step, what is wrong and how to fix it. ``lint`` raises the first one;
``lint_all`` collects them all (for editors and the UI).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ketch.exceptions import LintError
from ketch.graph._model import FlowGraph
from ketch.graph._rules_parallel import (
    check_join_after_parallel,
    check_parallel_after_next,
    check_parallel_called_correctly,
)
from ketch.graph._rules_shape import (
    check_empty_foreaches,
    check_for_acyclicity,
    check_for_orphans,
    check_split_join_balance,
)
from ketch.graph._rules_steps import (
    check_annotation_name_conflict,
    check_basic_steps,
    check_num_args,
    check_reserved_words,
    check_start_end_degree,
    check_static_transitions,
    check_step_names,
    check_that_end_is_end,
    check_unknown_transitions,
    check_valid_transitions,
)
from ketch.graph._rules_switch import check_ambiguous_joins, check_switch_splits

Rule = Callable[[FlowGraph], Iterator[LintError]]

# The order matters: a later rule's message only makes sense once the earlier ones pass.
RULES: tuple[Rule, ...] = (
    check_reserved_words,
    check_basic_steps,
    check_annotation_name_conflict,
    check_start_end_degree,
    check_that_end_is_end,
    check_step_names,
    check_num_args,
    check_static_transitions,
    check_valid_transitions,
    check_unknown_transitions,
    check_for_acyclicity,
    check_for_orphans,
    check_split_join_balance,
    check_switch_splits,
    check_empty_foreaches,
    check_ambiguous_joins,
    check_parallel_after_next,
    check_join_after_parallel,
    check_parallel_called_correctly,
)


def lint(graph: FlowGraph) -> None:
    """Raise the first problem of ``graph``, checking the rules in order.

    Parameters
    ----------
    graph
        A graph from :func:`ketch.graph.build_graph`.

    Raises
    ------
    LintError
        The first rule broken, with ``file``, ``line``, ``step`` and a ``hint``.

    Examples
    --------
    >>> lint(build_graph(HelloFlow))  # doctest: +SKIP
    """
    for rule in RULES:
        for error in rule(graph):
            raise error


def lint_all(graph: FlowGraph) -> list[LintError]:
    """Every problem of ``graph``, in rule order (empty for a valid graph).

    Once an early rule fails, later ones may report consequences of the same mistake; the
    first error is the one to fix first.

    Examples
    --------
    >>> [error.line for error in lint_all(build_graph(HelloFlow))]  # doctest: +SKIP
    []
    """
    return [error for rule in RULES for error in rule(graph)]
