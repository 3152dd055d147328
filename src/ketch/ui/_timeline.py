"""Lay a run's tasks out as a timeline: one band per step, tasks as bars packed into lanes.

Tasks of a step that overlap in time go to separate lanes (first lane free at the task's
start), so a band is as tall as the step's parallelism, up to `MAX_LANES`; past that, tasks
share the lane that frees up first. A step of many tasks comes as an aggregate (see
``_run_summary``): one bar from its first start to its last finish, linking to its step page.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._format import duration_text

WIDTH = 1100
LABEL_W = 150
AXIS_H = 22
MAX_LANES = 16
BAND_GAP = 8
AGGREGATE_H = 24.0


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
class Aggregate:
    step: str
    x: float
    y: float
    w: float
    h: float
    status: str
    num_tasks: int
    title: str
    columns: list[tuple[float, float, float, float]]  # x, y, w, h: tasks started per slice


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
    aggregates: list[Aggregate]


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


def layout(
    steps: list[dict[str, Any]],
    tasks: list[dict[str, Any]],
    now: float,
    aggregates: list[dict[str, Any]] | None = None,
) -> Timeline:
    """Bars for ``tasks`` (the run page's ``tasks``) and one bar per aggregate (its
    ``timeline_aggregates``), banded by ``steps`` in their order."""
    aggregates = [a for a in aggregates or [] if a["created_at"] is not None]
    spans: list[tuple[float, float]] = [(t["created_at"], t["finished_at"] or now) for t in tasks]
    spans += [(a["created_at"], a["finished_at"] or now) for a in aggregates]
    if not spans:
        return Timeline(WIDTH, 0, LABEL_W, [], [], [], [])
    t0 = min(s for s, _ in spans)
    span = max(max(e for _, e in spans) - t0, 1e-3)
    scale = (WIDTH - LABEL_W - 10) / span

    def x_of(t: float) -> float:
        return float(LABEL_W + (t - t0) * scale)

    by_step: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        by_step.setdefault(task["step"], []).append(task)
    summed = {a["step"]: a for a in aggregates}
    bands, bars, aggs = [], [], []
    y = float(AXIS_H)
    for name in [s["name"] for s in steps if s["name"] in by_step or s["name"] in summed]:
        if name in summed:
            agg = _aggregate(summed[name], x_of, y, now)
            aggs.append(agg)
            bands.append(Band(name, y, agg.h))
            y += agg.h + BAND_GAP
            continue
        band, band_bars = _band(name, by_step[name], x_of, y, now)
        bands.append(band)
        bars.extend(band_bars)
        y += band.h + BAND_GAP
    step = _nice_step(span)
    ticks = [
        Tick(LABEL_W + i * step * scale, duration_text(i * step))
        for i in range(int(span / step) + 1)
    ]
    return Timeline(WIDTH, y, LABEL_W, bands, bars, ticks, aggs)


def _band(
    name: str, tasks: list[dict[str, Any]], x_of: Callable[[float], float], y: float, now: float
) -> tuple[Band, list[Bar]]:
    mine = sorted(tasks, key=lambda t: (t["created_at"], t["id"]))
    lane_of, lanes = _lanes(mine, now)
    lane_h = 10.0 if lanes <= 3 else max(3.0, 30.0 / lanes)
    band_h = lanes * lane_h + (lanes - 1) * 1.0
    bars = []
    for task, lane in zip(mine, lane_of, strict=True):
        start, end = x_of(task["created_at"]), x_of(task["finished_at"] or now)
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
    return Band(name, y, band_h), bars


def _aggregate(
    agg: dict[str, Any], x_of: Callable[[float], float], y: float, now: float
) -> Aggregate:
    start, end = x_of(agg["created_at"]), x_of(agg["finished_at"] or now)
    counts = ", ".join(f"{n:,} {s}" for s, n in sorted(agg["task_counts"].items()))
    seconds = (agg["finished_at"] or now) - agg["created_at"]
    span = duration_text(seconds)
    starts: list[int] = agg.get("starts") or []
    most = max(starts, default=0)
    slice_w = (end - start) / len(starts) if starts else 0.0
    columns = [
        (start + i * slice_w, y + AGGREGATE_H * (1 - n / most), slice_w, AGGREGATE_H * n / most)
        for i, n in enumerate(starts)
        if n
    ]
    note = ""
    if columns:
        note = f" · columns: tasks started per {duration_text(seconds / len(starts))}"
    return Aggregate(
        step=agg["step"],
        x=start,
        y=y,
        w=max(end - start, 2.0),
        h=AGGREGATE_H,
        status=agg["status"],
        num_tasks=agg["num_tasks"],
        title=f"{agg['step']} · {agg['num_tasks']:,} tasks ({counts}) · {span}{note}",
        columns=columns,
    )
