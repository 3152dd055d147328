"""Lay a run's graph out for an SVG drawing: steps in rows by depth, edges as curves.

A step's depth is the longest path to it from the start step, so every edge points down.
Within a row, steps are ordered by the mean position of their parents (one barycentre pass),
which keeps the branches of a split side by side and most edges uncrossed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NODE_W = 176
NODE_H = 50
GAP_X = 28
GAP_Y = 46
PAD = 14
MAX_LABEL = 20


@dataclass(frozen=True)
class Node:
    name: str
    label: str  # the name, shortened to fit the box
    x: float
    y: float
    status: str
    foreach: bool  # drawn as a stack of boxes: the step runs as many tasks
    caption: str  # "4 tasks · 1 failed", "pending"...


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    nodes: list[Node]
    edges: list[str]  # SVG path data
    node_w: int = NODE_W
    node_h: int = NODE_H


def _depths(steps: list[dict[str, Any]]) -> dict[str, int]:
    """Longest-path depth; ``steps`` is in topological order (the graph's display order)."""
    names = {s["name"] for s in steps}
    depth = {s["name"]: 0 for s in steps}
    for step in steps:
        for child in step["next"]:
            if child in names and child != step["name"]:
                depth[child] = max(depth[child], depth[step["name"]] + 1)
    return depth


def _rows(steps: list[dict[str, Any]], depth: dict[str, int]) -> list[list[str]]:
    rows: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for step in steps:
        rows[depth[step["name"]]].append(step["name"])
    parents: dict[str, list[str]] = {s["name"]: [] for s in steps}
    for step in steps:
        for child in step["next"]:
            if child in parents:
                parents[child].append(step["name"])
    slot: dict[str, float] = {}
    for row in rows:
        order = {name: i for i, name in enumerate(row)}

        def centre(name: str, order: dict[str, int] = order) -> float:
            placed = [slot[p] for p in parents[name] if p in slot]
            return sum(placed) / len(placed) if placed else float(order[name])

        row.sort(key=lambda n: (centre(n), order[n]))
        offset = (len(row) - 1) / 2
        for i, name in enumerate(row):
            slot[name] = i - offset
    return rows


def caption(step: dict[str, Any]) -> str:
    counts: dict[str, int] = step["task_counts"]
    n = step["num_tasks"]
    if n == 0:
        return "not run" if step["status"] == "not-run" else "pending"
    parts = [f"{n} task{'s' if n != 1 else ''}"]
    for status in ("running", "failed"):
        if counts.get(status):
            parts.append(f"{counts[status]} {status}")
    return " · ".join(parts)


def layout(steps: list[dict[str, Any]]) -> Layout:
    """Positions for ``steps`` (the run page's ``steps`` list)."""
    if not steps:
        return Layout(0, 0, [], [])
    depth = _depths(steps)
    rows = _rows(steps, depth)
    widest = max(len(r) for r in rows)
    width = widest * NODE_W + (widest - 1) * GAP_X + 2 * PAD
    by_name = {s["name"]: s for s in steps}
    bodies = {child for s in steps if s.get("foreach") for child in s["next"]}
    pos: dict[str, tuple[float, float]] = {}
    nodes = []
    for r, row in enumerate(rows):
        row_width = len(row) * NODE_W + (len(row) - 1) * GAP_X
        left = (width - row_width) / 2
        for i, name in enumerate(row):
            x, y = left + i * (NODE_W + GAP_X), PAD + r * (NODE_H + GAP_Y)
            pos[name] = (x, y)
            step = by_name[name]
            label = name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "…"
            stacked = step["num_tasks"] > 1 or name in bodies
            nodes.append(Node(name, label, x, y, step["status"], stacked, caption(step)))
    edges = []
    for step in steps:
        x1, y1 = pos[step["name"]]
        for child in step["next"]:
            if child in pos and child != step["name"]:
                x2, y2 = pos[child]
                edges.append(_curve(x1 + NODE_W / 2, y1 + NODE_H, x2 + NODE_W / 2, y2))
    height = PAD * 2 + len(rows) * NODE_H + (len(rows) - 1) * GAP_Y
    return Layout(width, height, nodes, edges)


def _curve(x1: float, y1: float, x2: float, y2: float) -> str:
    mid = (y2 - y1) / 2
    return f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + mid:.1f} {x2:.1f},{y2 - mid:.1f} {x2:.1f},{y2:.1f}"
