"""Lay a run's tasks out as a timeline: one band per step, tasks as bars packed into lanes.

Tasks of a step that overlap in time go to separate lanes (first lane free at the task's
start), so a band is as tall as the step's parallelism, up to `MAX_LANES`; past that, tasks
share the lane that frees up first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ._format import duration_text

WIDTH = 1100
LABEL_W = 150
AXIS_H = 22
MAX_LANES = 16
BAND_GAP = 8


@dataclass(frozen=True)
class Bar:
    task_id: int
    step: str
    x: float
    y: float
    w: float
    h: float
    status: str
    title: str


@dataclass(frozen=True)
class Band:
    step: str
    y: float
    h: float


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Timeline:
    width: int
    height: float
    label_w: int
    bands: list[Band]
    bars: list[Bar]
    ticks: list[Tick]


def _lanes(tasks: list[dict[str, Any]], now: float) -> tuple[list[int], int]:
    """Lane index of each task (in the given order) and the number of lanes used."""
    ends: list[float] = []
    lane_of = []
    for task in tasks:
        start = task["created_at"]
        free = next((i for i, end in enumerate(ends) if end <= start), None)
        if free is None and len(ends) < MAX_LANES:
            ends.append(0.0)
            free = len(ends) - 1
        if free is None:
            free = min(range(len(ends)), key=ends.__getitem__)
        ends[free] = task["finished_at"] or now
        lane_of.append(free)
    return lane_of, max(1, len(ends))


def _nice_step(span: float, target: int = 6) -> float:
    raw = span / target
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for mult in (1, 2, 5, 10):
        if raw <= mult * power:
            return mult * power
    return 10 * power


def layout(steps: list[dict[str, Any]], tasks: list[dict[str, Any]], now: float) -> Timeline:
    """Bars for ``tasks`` (the run page's ``tasks``), banded by ``steps`` in their order."""
    if not tasks:
        return Timeline(WIDTH, 0, LABEL_W, [], [], [])
    t0 = min(t["created_at"] for t in tasks)
    t1 = max(t["finished_at"] or now for t in tasks)
    span = max(t1 - t0, 1e-3)
    scale = (WIDTH - LABEL_W - 10) / span
    by_step: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        by_step.setdefault(task["step"], []).append(task)
    bands, bars = [], []
    y = float(AXIS_H)
    for name in [s["name"] for s in steps if s["name"] in by_step]:
        mine = sorted(by_step[name], key=lambda t: (t["created_at"], t["id"]))
        lane_of, lanes = _lanes(mine, now)
        lane_h = 10.0 if lanes <= 3 else max(3.0, 30.0 / lanes)
        band_h = lanes * lane_h + (lanes - 1) * 1.0
        bands.append(Band(name, y, band_h))
        for task, lane in zip(mine, lane_of, strict=True):
            start = LABEL_W + (task["created_at"] - t0) * scale
            end = LABEL_W + ((task["finished_at"] or now) - t0) * scale
            took = duration_text(task["duration_s"])
            bars.append(
                Bar(
                    task_id=task["id"],
                    step=name,
                    x=start,
                    y=y + lane * (lane_h + 1.0),
                    w=max(end - start, 2.0),
                    h=lane_h,
                    status=task["status"],
                    title=f"{name}/{task['id']} · {task['status']} · {took}",
                )
            )
        y += band_h + BAND_GAP
    step = _nice_step(span)
    ticks = [
        Tick(LABEL_W + i * step * scale, duration_text(i * step))
        for i in range(int(span / step) + 1)
    ]
    return Timeline(WIDTH, y, LABEL_W, bands, bars, ticks)
