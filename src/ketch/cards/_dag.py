"""The flow's graph as inline SVG, with one step highlighted (for the default card).

Layout (a small Sugiyama): each step sits on the row of its longest path from ``start``; an edge
that skips rows passes through an invisible waypoint on each row it crosses, so it is routed
beside the steps instead of through them; each row is ordered by the mean position of its
parents and centred. Edges are curves with arrowheads, dashed out of a foreach.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._html import esc

_ROW = 64
_NODE_H = 28
_GAP = 24
_PAD = 12
_WAYPOINT_W = 8.0


@dataclass
class _Item:
    """A step, or a waypoint of a long edge, on one row of the picture."""

    name: str
    row: int
    width: float
    parents: list[str] = field(default_factory=list)
    x: float = 0.0  # left edge
    step: bool = True

    @property
    def center(self) -> float:
        return self.x + self.width / 2


def _depths(steps: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Longest-path layering: a step goes one row below its deepest parent."""
    depth: dict[str, int] = {}
    visiting: set[str] = set()

    def visit(name: str) -> int:
        if name not in depth:
            visiting.add(name)
            parents = [p for p in steps[name].get("in_funcs", []) if p in steps]
            # A parent still being visited would be a cycle; graphs are acyclic, but be safe.
            depth[name] = max((visit(p) + 1 for p in parents if p not in visiting), default=0)
            visiting.discard(name)
        return depth[name]

    for name in steps:
        visit(name)
    return depth


def _width(name: str) -> float:
    return max(72.0, 7.2 * len(name) + 24)


def _layout(
    steps: dict[str, dict[str, Any]], order: list[str]
) -> tuple[dict[str, _Item], list[tuple[str, list[str], bool]]]:
    """Items by name, and each edge as (source, waypoints + target, out of a foreach?)."""
    depth = _depths(steps)
    items = {n: _Item(n, depth[n], _width(n)) for n in order}
    edges = []
    for src in order:
        for dst in steps[src].get("next", []):
            if dst not in items or dst == src:  # a recursive switch's loop is not drawn
                continue
            chain, previous = [], src
            for row in range(depth[src] + 1, depth[dst]):
                waypoint = f"{src}->{dst}#{row}"
                items[waypoint] = _Item(waypoint, row, _WAYPOINT_W, [previous], step=False)
                chain.append(waypoint)
                previous = waypoint
            items[dst].parents.append(previous)
            edges.append((src, chain + [dst], steps[src].get("type") == "foreach"))
    rows: dict[int, list[_Item]] = {}
    for item in items.values():
        rows.setdefault(item.row, []).append(item)
    width = max(_row_width(r) for r in rows.values()) + 2 * _PAD
    for row in sorted(rows):
        members = rows[row]
        if row > 0:  # order by the mean position of the parents (stable for ties)
            members.sort(
                key=lambda i: (
                    sum(items[p].center for p in i.parents) / len(i.parents) if i.parents else 0.0
                )
            )
        x = (width - _row_width(members)) / 2
        for item in members:
            item.x = x
            x += item.width + _GAP
    return items, edges


def _row_width(members: list[_Item]) -> float:
    return sum(i.width for i in members) + _GAP * (len(members) - 1)


def dag_svg(graph: dict[str, Any], current: str | None = None) -> str:
    """An ``<svg>`` of ``graph`` (as made by ``graph_to_dict``), ``current`` highlighted."""
    steps: dict[str, dict[str, Any]] = graph.get("steps") or {}
    if not steps:
        return '<div class="note">The flow graph is not available.</div>'
    order = [n for n in graph.get("order", []) if n in steps] + [
        n for n in steps if n not in graph.get("order", [])
    ]
    items, edges = _layout(steps, order)
    total_w = max(i.x + i.width for i in items.values()) + _PAD
    total_h = max(i.row for i in items.values()) * _ROW + _NODE_H + 2 * _PAD
    paths = [_edge(items, src, chain, foreach) for src, chain, foreach in edges]
    nodes = [_node(items[n], steps[n], n == current) for n in order]
    return (
        f'<svg class="dag" role="img" aria-label="flow graph" width="{total_w:.0f}" '
        f'height="{total_h:.0f}" viewBox="0 0 {total_w:.0f} {total_h:.0f}" font-size="12">'
        '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#8c959f"/></marker>'
        f"</defs>{''.join(paths)}{''.join(nodes)}</svg>"
    )


def _top(item: _Item) -> float:
    return _PAD + item.row * _ROW


def _edge(items: dict[str, _Item], src: str, chain: list[str], foreach: bool) -> str:
    start = items[src]
    x, y = start.center, _top(start) + _NODE_H
    d = [f"M{x:.1f},{y:.1f}"]
    for name in chain:
        item = items[name]
        nx, ny = item.center, _top(item)
        mid = (y + ny) / 2
        d.append(f"C{x:.1f},{mid:.1f} {nx:.1f},{mid:.1f} {nx:.1f},{ny:.1f}")
        x, y = nx, ny
        if not item.step:  # pass straight through the waypoint's row
            y = ny + _NODE_H
            d.append(f"L{x:.1f},{y:.1f}")
    cls = "edge foreach" if foreach else "edge"
    return (
        f'<path class="{cls}" data-from="{esc(src)}" data-to="{esc(chain[-1])}" '
        f'd="{" ".join(d)}" marker-end="url(#arrow)"/>'
    )


def _node(item: _Item, step: dict[str, Any], current: bool) -> str:
    x, y, w = item.x, _top(item), item.width
    cls = "node current" if current else "node"
    kind = step.get("type", "")
    tip = f"{item.name} ({kind})" if kind else item.name
    aria = ' aria-current="step"' if current else ""
    return (
        f'<g class="{cls}" data-step="{esc(item.name)}"{aria}><title>{esc(tip)}</title>'
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{_NODE_H}" rx="6"/>'
        f'<text x="{x + w / 2:.1f}" y="{y + _NODE_H / 2 + 4:.1f}" text-anchor="middle">'
        f"{esc(item.name)}</text></g>"
    )
