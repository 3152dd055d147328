"""Walking a flow graph from its start step: orders and the splits open along each edge.

Both the parser (to fill ``split_parents`` and ``matching_join``) and the split/join lint rule
use this walk, so they always agree. It works on plain names and never fails: unknown steps are
skipped and loops are cut, because it runs before the lint has said whether the graph is sane.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

# A split that is open, and which of its branches the path took: ``(split step, branch step)``.
# For a foreach the branch is its single body step.
Frame = tuple[str, str]
# The splits open at some point of a path, outermost first.
Context = tuple[Frame, ...]

SPLIT_TYPES = frozenset({"split", "foreach"})


def reverse_postorder(root: str, children: Callable[[str], Sequence[str]]) -> list[str]:
    """Every name reachable from ``root``, each after all its parents (loops aside).

    Children are explored last-first so that, once reversed, the first branch of a split is
    listed whole before the second one starts. Iterative, so deep flows cannot overflow the
    interpreter stack.
    """
    post: list[str] = []
    seen = {root}
    stack: list[tuple[str, Iterator[str]]] = [(root, reversed(children(root)))]
    while stack:
        name, pending = stack[-1]
        for child in pending:
            if child not in seen:
                seen.add(child)
                stack.append((child, reversed(children(child))))
                break
        else:
            stack.pop()
            post.append(name)
    post.reverse()
    return post


@dataclass(frozen=True)
class Walk:
    """What a walk from the start step found.

    Attributes
    ----------
    order
        Reachable steps, parents before children (except along a loop).
    context
        For each reachable step, the splits open while it runs.
    incoming
        For each reachable step, ``(parent, context on that edge)`` for every reachable parent
        seen before it in ``order``. A join pops the last frame of its incoming context.
    closes
        For each join reached with an open split, the frame it closes (taken from its first
        incoming edge).
    """

    order: tuple[str, ...] = ()
    context: Mapping[str, Context] = field(default_factory=dict)
    incoming: Mapping[str, tuple[tuple[str, Context], ...]] = field(default_factory=dict)
    closes: Mapping[str, Frame] = field(default_factory=dict)


def walk_graph(
    start: str, out_funcs: Mapping[str, Sequence[str]], types: Mapping[str, str]
) -> Walk:
    """Walk the graph given as ``out_funcs`` (step -> successors) from ``start``.

    ``types`` gives each step's node type (``split``, ``foreach``, ``join``, ...); only splits
    (which open a frame per branch) and joins (which close one) matter.
    """
    if start not in out_funcs:
        return Walk()

    def children(name: str) -> list[str]:
        return [n for n in out_funcs[name] if n in out_funcs]

    order = reverse_postorder(start, children)
    position = {name: i for i, name in enumerate(order)}
    parents: dict[str, list[str]] = {name: [] for name in order}
    for name in order:
        for child in dict.fromkeys(children(name)):
            parents[child].append(name)

    context: dict[str, Context] = {}
    incoming: dict[str, tuple[tuple[str, Context], ...]] = {}
    closes: dict[str, Frame] = {}
    for name in order:
        # Only parents already placed: the others close a loop, which lint reports on its own.
        earlier = sorted((p for p in parents[name] if position[p] < position[name]), key=str)
        edges = tuple((p, _edge(p, name, context, types)) for p in earlier)
        incoming[name] = edges
        ctx: Context = edges[0][1] if edges else ()
        if types.get(name) == "join" and ctx:
            closes[name] = ctx[-1]
            ctx = ctx[:-1]
        context[name] = ctx
    return Walk(order=tuple(order), context=context, incoming=incoming, closes=closes)


def _edge(
    parent: str, child: str, context: Mapping[str, Context], types: Mapping[str, str]
) -> Context:
    """The splits open on the edge ``parent -> child``: a split opens one frame per branch."""
    ctx = context[parent]
    if types.get(parent) in SPLIT_TYPES:
        return (*ctx, (parent, child))
    return ctx
