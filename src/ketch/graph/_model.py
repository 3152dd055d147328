"""The frozen graph model of a flow, built from its source before anything runs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from ketch.flow._parallel import PARALLEL_VAR
from ketch.graph._walk import reverse_postorder, walk_graph

__all__ = ["PARALLEL_VAR", "CaseKey", "FlowGraph", "NodeType", "StepNode"]

NodeType = Literal["start", "linear", "split", "foreach", "split-switch", "join", "end"]

# A switch case key as written in the source: a literal (str, int, float, bool), or the text
# of an attribute chain such as ``self.config.mode`` (resolved on the flow object).
CaseKey = str | int | float | bool


@dataclass(frozen=True)
class StepNode:
    """One ``@step`` method as the static graph sees it.

    ``type`` follows Metaflow's vocabulary: ``split`` is a static branch (several targets),
    ``foreach`` fans out over an attribute, ``split-switch`` takes exactly one of its targets
    (chosen at run time by ``condition``), ``join`` takes ``inputs``. A step that is both the
    start and a split is typed by its transition (``split``/``foreach``); ``name == graph.start``
    tells it is the start.
    """

    name: str
    type: NodeType
    out_funcs: tuple[str, ...]
    in_funcs: tuple[str, ...]
    foreach_param: str | None
    num_args: int
    lineno: int
    doc: str
    decorators: tuple[str, ...]
    # Stack of the splits open when this step runs, outermost first (a join lists the split it
    # closes as the last entry of ``split_parents`` of its parents, not of itself).
    split_parents: tuple[str, ...] = ()
    # For a split or foreach step, the join that closes it.
    matching_join: str | None = None
    # Where ``self.next`` sits (for error messages); 0 when the step has none.
    next_lineno: int = 0
    # True when the last statement is a well-formed ``self.next`` call.
    has_valid_next: bool = True
    # Problems found while parsing ``self.next`` (kept for the lint rules to report); for a
    # step without a tail ``self.next``, where a misplaced one sits, if any.
    next_problems: tuple[str, ...] = ()
    # Absolute path of the file that defines the step (differs from ``FlowGraph.file`` for a
    # step inherited from a base class defined elsewhere).
    file: str = ""
    # ``@step(start=True)`` / ``@step(end=True)`` annotations.
    annotated_start: bool = False
    annotated_end: bool = False
    # For a switch: the condition attribute and ``(case key, step)`` in source order.
    condition: str | None = None
    switch_cases: tuple[tuple[CaseKey, str], ...] = ()
    # ``self.next(self.x, num_parallel=N)``: N (a gang of N tasks of ``x``, see @parallel);
    # 0 for any other transition. Such a step is a ``foreach`` over ``PARALLEL_VAR``.
    num_parallel: int = 0

    @property
    def has_next(self) -> bool:
        """True when the step ends with a ``self.next`` call, well-formed or not."""
        return self.next_lineno > 0

    @property
    def is_join(self) -> bool:
        return self.num_args == 2

    @property
    def is_foreach(self) -> bool:
        return self.type == "foreach"

    @property
    def is_switch(self) -> bool:
        return self.type == "split-switch"

    @property
    def is_recursive(self) -> bool:
        """A switch that can choose its own step again: a loop, one task per iteration."""
        return self.is_switch and self.name in self.out_funcs

    @property
    def is_parallel_step(self) -> bool:
        """True for a step decorated ``@parallel`` (a gang step)."""
        return "parallel" in self.decorators

    @property
    def parallel_step(self) -> bool:
        """Metaflow's name for ``is_parallel_step`` (flows read
        ``self._graph[current.step_name].parallel_step``)."""
        return self.is_parallel_step


@dataclass(frozen=True)
class FlowGraph:
    """All steps of a flow, keyed by name, in source order."""

    flow_name: str
    file: str
    doc: str
    nodes: dict[str, StepNode] = field(default_factory=dict)
    # ``start``/``end`` are empty when the flow has no unique start or end step (lint says why).
    start: str = "start"
    end: str = "end"
    # Line of the ``class`` statement; 0 when unknown.
    lineno: int = 0

    def __getitem__(self, name: str) -> StepNode:
        return self.nodes[name]

    def __contains__(self, name: object) -> bool:
        return name in self.nodes

    def __iter__(self) -> Iterator[StepNode]:
        return iter(self.nodes.values())

    def topological(self) -> list[StepNode]:
        """Steps reachable from the start, every step after all its parents.

        Branches are laid out one after the other, in the order ``self.next`` names them, so
        the list reads like the flow (this is the order ``show`` prints).
        """
        if self.start not in self.nodes:
            return []
        order = reverse_postorder(self.start, self._children)
        return [self.nodes[name] for name in order]

    def _children(self, name: str) -> tuple[str, ...]:
        return tuple(n for n in self.nodes[name].out_funcs if n in self.nodes)

    def closing_split(self, join: str) -> str | None:
        """The split or foreach step that the join ``join`` closes."""
        for node in self.nodes.values():
            if node.matching_join == join:
                return node.name
        return None

    def downstream(self, step: str) -> set[str]:
        """``step`` and every step reachable from it."""
        out: set[str] = set()
        todo = [step]
        while todo:
            name = todo.pop()
            if name in out or name not in self.nodes:
                continue
            out.add(name)
            todo.extend(self.nodes[name].out_funcs)
        return out

    def branch_positions(self) -> dict[tuple[str, str], int]:
        """``(join, parent) -> i``: the parent step of a static join is on branch ``i`` of the
        split the join closes (a switch inside a branch lets several parent steps share one
        branch, of which only one runs)."""
        walk = walk_graph(
            self.start,
            {node.name: node.out_funcs for node in self},
            {node.name: node.type for node in self},
        )
        positions: dict[tuple[str, str], int] = {}
        for node in self:
            split = self.closing_split(node.name) if node.type == "join" else None
            if split is None or self.nodes[split].type != "split":
                continue
            branches = self.nodes[split].out_funcs
            for parent in node.in_funcs:
                context = walk.context.get(parent, ())
                if context and context[-1][0] == split and context[-1][1] in branches:
                    positions[(node.name, parent)] = branches.index(context[-1][1])
        return positions
