"""Lay a run's graph out for an SVG drawing: steps in rows by depth, edges as curves.

A step's depth is the longest path to it from the start step, so every edge points down.
Each step sits under the mean position of its parents (one barycentre pass, top to bottom),
and steps of a row are pushed apart just enough not to overlap: the branches of a split sit
side by side, a branch keeps its column down to its join, and few edges cross. A switch is
drawn as a hexagon, each of its edges labelled with its case key; the edge of a recursive
switch back to itself is a loop on the right of its box.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NODE_W = 176
NODE_H = 50
GAP_X = 28
GAP_Y = 46
PAD = 14
MAX_LABEL = 20
LOOP_W = 56  # room on the right of a recursive switch for its loop


@dataclass(frozen=True)
class Node:
    name: str
    label: str  # the name, shortened to fit the box
    x: float
    y: float
    status: str
    foreach: bool  # drawn as a stack of boxes: the step runs as many tasks
    caption: str  # "4 tasks · 1 failed", "pending"...
    switch: str = ""  # a switch's condition (drawn as a hexagon); "" for other steps
    hexagon: str = ""  # SVG polygon points of a switch's box


@dataclass(frozen=True)
class EdgeLabel:
    """The case key written next to an edge of a switch."""

    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    nodes: list[Node]
    edges: list[str]  # SVG path data
    labels: list[EdgeLabel] = field(default_factory=list)
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
            switch = step.get("condition") or ""
            nodes.append(
                Node(
                    name,
                    label,
                    x,
                    y,
                    step["status"],
                    stacked and not switch,
                    caption(step),
                    switch,
                    _hexagon(x, y) if switch else "",
                )
            )
    edges, labels = _edges(steps, pos)
    if any(step["name"] in step["next"] for step in steps):
        width += LOOP_W  # room for the loop of a recursive switch
    height = PAD * 2 + len(rows) * NODE_H + (len(rows) - 1) * GAP_Y
    return Layout(width, height, nodes, edges, labels)


def _edges(
    steps: list[dict[str, Any]], pos: dict[str, tuple[float, float]]
) -> tuple[list[str], list[EdgeLabel]]:
    edges, labels = [], []
    for step in steps:
        x1, y1 = pos[step["name"]]
        keys: dict[str, list[str]] = {}
        for key, child in step.get("switch_cases") or []:
            keys.setdefault(child, []).append(str(key))
        for child in step["next"]:
            if child not in pos:
                continue
            text = ", ".join(keys.get(child, []))
            if child == step["name"]:  # a recursive switch: a loop on the right of the box
                right, top, bottom = x1 + NODE_W, y1 + NODE_H * 0.3, y1 + NODE_H * 0.7
                reach = right + LOOP_W * 0.6
                edges.append(
                    f"M{right:.1f},{top:.1f} C{reach:.1f},{y1 - 12:.1f} "
                    f"{reach:.1f},{y1 + NODE_H + 12:.1f} {right:.1f},{bottom:.1f}"
                )
                if text:
                    labels.append(EdgeLabel(reach + 4, y1 + NODE_H / 2 + 4, text))
                continue
            x2, y2 = pos[child]
            edges.append(_curve(x1 + NODE_W / 2, y1 + NODE_H, x2 + NODE_W / 2, y2))
            if text:
                labels.append(
                    EdgeLabel((x1 + x2) / 2 + NODE_W / 2 + 4, (y1 + NODE_H + y2) / 2, text)
                )
    return edges, labels


def _hexagon(x: float, y: float) -> str:
    """The points of a switch's box: a hexagon as wide and tall as the other boxes."""
    cut = 14
    points = [
        (x + cut, y),
        (x + NODE_W - cut, y),
        (x + NODE_W, y + NODE_H / 2),
        (x + NODE_W - cut, y + NODE_H),
        (x + cut, y + NODE_H),
        (x, y + NODE_H / 2),
    ]
    return " ".join(f"{px:.1f},{py:.1f}" for px, py in points)


def _curve(x1: float, y1: float, x2: float, y2: float) -> str:
    mid = (y2 - y1) / 2
    return f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + mid:.1f} {x2:.1f},{y2 - mid:.1f} {x2:.1f},{y2:.1f}"
