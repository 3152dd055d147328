"""Lay a run's graph out for an SVG drawing: steps in rows by depth, edges as curves.

A step's depth is the longest path to it from the start step, so every edge points down.
Each step sits under the mean position of its parents (one barycentre pass, top to bottom),
and steps of a row are pushed apart just enough not to overlap: the branches of a split sit
side by side, a branch keeps its column down to its join, and few edges cross.
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
    return rows


def _columns(steps: list[dict[str, Any]], rows: list[list[str]]) -> dict[str, float]:
    """The x of each step: under the mean of its parents, rows spread to keep boxes apart."""
    parents: dict[str, list[str]] = {s["name"]: [] for s in steps}
    for step in steps:
        for child in step["next"]:
            if child in parents and child != step["name"]:
                parents[child].append(step["name"])
    pitch = NODE_W + GAP_X
    x: dict[str, float] = {}
    for row in rows:
        spread = {name: (i - (len(row) - 1) / 2) * pitch for i, name in enumerate(row)}
        wanted = {}
        for name in row:
            placed = [x[p] for p in parents[name] if p in x]
            wanted[name] = sum(placed) / len(placed) if placed else spread[name]
        ordered = sorted(row, key=lambda n: (wanted[n], row.index(n)))
        at: list[float] = []
        for name in ordered:
            at.append(wanted[name] if not at else max(wanted[name], at[-1] + pitch))
        # Shift the row back so that, on average, steps sit where their parents want them.
        shift = sum(wanted[n] - a for n, a in zip(ordered, at, strict=True)) / len(ordered)
        for name, a in zip(ordered, at, strict=True):
            x[name] = a + shift
    return x


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
    rows = _rows(steps, _depths(steps))
    column = _columns(steps, rows)
    left = min(column.values())
    width = max(column.values()) - left + NODE_W + 2 * PAD
    by_name = {s["name"]: s for s in steps}
    bodies = {child for s in steps if s.get("foreach") for child in s["next"]}
    pos: dict[str, tuple[float, float]] = {}
    nodes = []
    for r, row in enumerate(rows):
        for name in row:
            x, y = column[name] - left + PAD, PAD + r * (NODE_H + GAP_Y)
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
