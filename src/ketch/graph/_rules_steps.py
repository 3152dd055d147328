"""Lint rules about the steps themselves: names, start and end, arguments, ``self.next`` calls.

Each rule is a generator of :class:`LintError`, one per offending step, in source order. Rules
never assume that an earlier rule passed: ``lint_all`` runs them all on any graph.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator

from ketch.exceptions import LintError
from ketch.graph._model import FlowGraph, StepNode

RESERVED_NAMES = frozenset({"name", "next", "input", "index", "cmd"})
_VALID_NAME = re.compile(r"[a-z0-9][a-z0-9_]*")
_TRANSITION_FORMS = (
    "Use one of: self.next(self.a) to go on, self.next(self.a, self.b) to branch, "
    "self.next(self.a, foreach='items') to run 'a' once per element of self.items, "
    "self.next(self.a, num_parallel=4) to run a gang of 4 tasks of the @parallel step 'a', "
    "self.next({'x': self.a, 'y': self.b}, condition='mode') to take the one step whose key "
    "equals self.mode (case keys are string or number literals, or self.config.key)."
)


def at_step(
    graph: FlowGraph, node: StepNode, detail: str, hint: str, *, at_next: bool = False
) -> LintError:
    """An error pointing at a step's ``def`` line, or at its ``self.next`` line."""
    line = node.next_lineno if at_next and node.next_lineno else node.lineno
    return LintError(detail, file=node.file or graph.file, line=line, step=node.name, hint=hint)


def at_flow(graph: FlowGraph, detail: str, hint: str) -> LintError:
    """An error about the flow as a whole, pointing at its ``class`` line."""
    return LintError(detail, file=graph.file, line=graph.lineno, hint=hint)


def check_reserved_words(graph: FlowGraph) -> Iterator[LintError]:
    """Rule 1: a step may not be named like a built-in attribute of a flow."""
    for node in graph:
        if node.name in RESERVED_NAMES:
            yield at_step(
                graph,
                node,
                f"Step name '{node.name}' is reserved: flows use `self.{node.name}` themselves.",
                f"Rename the step (reserved names: {', '.join(sorted(RESERVED_NAMES))}) and "
                "update the self.next() calls that point to it.",
            )


def check_basic_steps(graph: FlowGraph) -> Iterator[LintError]:
    """Rule 2: the flow has exactly one start step and exactly one end step."""
    for which, chosen in (("start", graph.start), ("end", graph.end)):
        if chosen:
            continue
        marked = [n for n in graph if getattr(n, f"annotated_{which}")]
        if len(marked) > 1:
            names = ", ".join(f"'{n.name}'" for n in marked)
            yield at_step(
                graph,
                marked[1],
                f"Steps {names} are all marked @step({which}=True); a flow has exactly one "
                f"{which} step.",
                f"Keep {which}=True on one step only.",
            )
        else:
            yield at_flow(
                graph,
                f"Flow {graph.flow_name} has no {which} step.",
                f"Name a step '{which}', or mark one step with @step({which}=True).",
            )


def check_annotation_name_conflict(graph: FlowGraph) -> Iterator[LintError]:
    """Rule 3: ``@step(start=True)`` on one step while another is named ``start`` (or end)."""
    for which, chosen in (("start", graph.start), ("end", graph.end)):
        if chosen and chosen != which and which in graph and chosen in graph:
            yield at_step(
                graph,
                graph[chosen],
                f"Step '{chosen}' is marked @step({which}=True), but another step is named "
                f"'{which}', so the {which} of the flow is ambiguous.",
                f"Remove {which}=True from '{chosen}', or rename the step called '{which}'.",
            )


def check_start_end_degree(graph: FlowGraph) -> Iterator[LintError]:
    """Rule 4: nothing leads to the start step, and the end step leads nowhere."""
    if graph.start in graph and graph[graph.start].in_funcs:
        node = graph[graph.start]
        sources = ", ".join(f"'{n}'" for n in node.in_funcs)
        yield at_step(
            graph,
            node,
            f"The start step '{node.name}' is the target of self.next() in {sources}; "
            "the start step must have no incoming transitions.",
            "Point those self.next() calls at another step: the start step runs only once, first.",
        )
    if graph.end in graph and graph[graph.end].out_funcs:
        node = graph[graph.end]
        yield at_step(
            graph,
            node,
            f"The end step '{node.name}' has outgoing transitions "
            f"(to {', '.join(repr(n) for n in node.out_funcs)}).",
            "Remove the self.next() call from the end step: the run finishes there.",
            at_next=True,
        )


def check_that_end_is_end(graph: FlowGraph) -> Iterator[LintError]:
    """Rule 5: the end step calls no ``self.next`` and is not a join."""
    if graph.end not in graph:
        return
    node = graph[graph.end]
    if node.has_next:
        yield at_step(
            graph,
            node,
            f"The end step '{node.name}' calls self.next(); the end step is the last one.",
            "Remove the self.next() call from the end step.",
            at_next=True,
        )
    if node.num_args > 1:
        yield at_step(
            graph,
            node,
            f"The end step '{node.name}' takes an extra argument, which makes it a join; "
            "the end step cannot be a join.",
            f"Add a join step before it (def join(self, inputs): ... "
            f"self.next(self.{node.name})) and make '{node.name}' take only self.",
        )


def check_step_names(graph: FlowGraph) -> Iterator[LintError]:
    """Rule 6: step names use lowercase ASCII letters, digits and ``_``, not leading ``_``."""
    for node in graph:
        if not _VALID_NAME.fullmatch(node.name):
            yield at_step(
                graph,
                node,
                f"Step name '{node.name}' is invalid: use only lowercase ASCII letters, digits "
                "and '_', and do not start with '_'.",
                f"Rename the step, for example to '{_suggest_name(node.name)}'.",
            )


def _suggest_name(name: str) -> str:
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    cleaned = re.sub(r"[^a-z0-9_]", "_", snake).lstrip("_")
    return cleaned or "my_step"


def check_num_args(graph: FlowGraph) -> Iterator[LintError]:
    """Rule 7: a step takes ``self``, a join ``self, inputs``; a join cannot also split."""
    for node in graph:
        if node.num_args > 2:
            yield at_step(
                graph,
                node,
                f"Step '{node.name}' takes {node.num_args} arguments; a step takes only self, "
                "and a join step takes self and inputs.",
                "Remove the extra arguments: read values from artifacts (self.x) or from "
                "Parameters instead.",
            )
        elif node.num_args == 2 and node.type not in ("join", "end"):
            yield at_step(
                graph,
                node,
                f"Step '{node.name}' takes inputs, so it is a join, but its self.next() "
                f"starts a {_split_kind(node)}; one step cannot both "
                "join and split.",
                f"Split in a new step: join in '{node.name}', then "
                f"self.next(self.{node.name}_split) and move the split there.",
            )
        elif node.num_args == 0:
            yield at_step(
                graph,
                node,
                f"Step '{node.name}' takes no arguments; every step takes self.",
                f"Write it as def {node.name}(self):",
            )


def _split_kind(node: StepNode) -> str:
    return "foreach" if node.is_foreach else "switch" if node.is_switch else "branch"


def check_static_transitions(graph: FlowGraph) -> Iterator[LintError]:
    """Rule 8: every step but the end ends with a ``self.next(...)`` statement."""
    for node in graph:
        if node.name == graph.end or node.has_next:
            continue
        detail = (
            f"Step '{node.name}' does not end with a self.next() call, so the step that runs "
            "after it is unknown."
        )
        if node.next_problems:
            detail += f" ({'; '.join(node.next_problems)}.)"
        yield at_step(
            graph,
            node,
            detail,
            "Make self.next(self.<next step>) the last statement of the step, outside any "
            "if, for, with or try block.",
        )


def check_valid_transitions(graph: FlowGraph) -> Iterator[LintError]:
    """Rule 9: the ``self.next(...)`` call has one of the supported shapes."""
    for node in graph:
        if node.name != graph.end and node.has_next and not node.has_valid_next:
            problem = node.next_problems[0] if node.next_problems else "unsupported form"
            yield at_step(
                graph,
                node,
                f"Step '{node.name}' has an invalid self.next() call: {problem}.",
                _TRANSITION_FORMS,
                at_next=True,
            )


def check_unknown_transitions(graph: FlowGraph) -> Iterator[LintError]:
    """Rule 10: ``self.next`` names only steps of the flow."""
    for node in graph:
        unknown = [n for n in node.out_funcs if n not in graph]
        if not unknown:
            continue
        missing = unknown[0]
        close = difflib.get_close_matches(missing, list(graph.nodes), n=1)
        hint = (
            f"Did you mean self.{close[0]}?"
            if close
            else f"Define '{missing}' as a method decorated with @step, or fix the name."
        )
        yield at_step(
            graph,
            node,
            f"Step '{node.name}' calls self.next(self.{missing}), but the flow has no step "
            f"'{missing}'.",
            hint,
            at_next=True,
        )
