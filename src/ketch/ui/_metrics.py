"""Metric charts on the run and compare pages, and the endpoint that grows them while a run runs.

A chart is one metric: one line per task (``step/task`` and its foreach value), x the step
the task gave with the value (or, for values logged without one, the value's place in its
series). Each series is
thinned in SQL to about `CAP` points, so a run that logged a million values still answers
fast. A page showing a running run polls ``/api/-/metrics/{flow}/{run}?after=CURSOR``, which
answers only the points logged after the cursor, and the next cursor (see
`MetadataReader.metrics_since`).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from typing import Any

from ..exceptions import UserError
from ..metadata import MetricCursors, TaskRecord, effective_status
from ..metadata._paged_reading import MAX_IDS
from ._common import find_run, path_of, shorten
from ._source import Source

CAP = 5000  # points per series sent to a page
# [x, y]; x None: "next in the series" (the page numbers it); y None: NaN or infinite, not drawn
Point = list[float | None]


def run_charts(src: Source, run: dict[str, Any]) -> dict[str, Any] | None:
    """The run page's ``metrics``: charts of every metric, the cursor, the live endpoint
    while the run runs; None for a finished run that logged none."""
    sample, cursors = src.store.sample_metrics(run["id"], CAP)
    running = run["status"] == "running"
    if not sample and not running:
        return None
    label = task_labels(src, run["id"], {m.task_id for _order, m in sample})
    series: dict[tuple[str, str], list[Point]] = defaultdict(list)
    for order, m in sample:
        x = float(order) if m.step is None else float(m.step)
        series[(m.name, label[m.task_id])].append([x, _y(m.value)])
    counts = {(m.name, label[m.task_id]): order + 1 for order, m in sample}  # the last is kept
    return {
        "charts": _charts(series, counts),
        "cursor": encode_cursors(cursors),
        "live": path_of("api", "-", "metrics", run["flow"], run["id"]) if running else None,
        "cap": CAP,
    }


def metrics_after(src: Source, flow: str, run_id: str, after: str) -> dict[str, Any]:
    """The points of a run logged after cursor ``after``, grouped by series, and the next
    cursor; ``reset`` lists the tasks retried since (their earlier points are gone)."""
    record = find_run(src, flow, run_id)
    given = decode_cursors(after)
    points, cursors = src.store.metrics_since(record.run_id, given)
    reset = {t for t, (attempt, _seq) in cursors.items() if t in given and given[t][0] != attempt}
    label = task_labels(src, record.run_id, {m.task_id for m in points} | reset)
    series: dict[tuple[str, str], list[Point]] = defaultdict(list)
    for m in points:
        x = None if m.step is None else float(m.step)
        series[(m.name, label[m.task_id])].append([x, _y(m.value)])
    return {
        "status": effective_status(record, time.time()),
        "cursor": encode_cursors(cursors),
        "series": [
            {"name": name, "task": task, "points": thin(values, CAP)}
            for (name, task), values in series.items()
        ],
        "reset": sorted(label[t] for t in reset),
    }


def _charts(
    series: dict[tuple[str, str], list[Point]], counts: dict[tuple[str, str], int]
) -> list[dict[str, Any]]:
    names = list(dict.fromkeys(name for name, _task in counts))
    return [
        {
            "name": name,
            "series": [
                {"task": task, "count": counts[(n, task)], "points": series.get((n, task), [])}
                for (n, task) in counts
                if n == name
            ],
        }
        for name in names
    ]


def thin(points: list[Point], cap: int) -> list[Point]:
    """At most about ``cap`` of ``points``, evenly, the last one kept."""
    if len(points) <= cap:
        return points
    stride = -(-len(points) // cap)
    kept = points[::stride]
    return kept if kept[-1] is points[-1] else [*kept, points[-1]]


def _y(value: float) -> float | None:
    """A value as a chart takes it: NaN and infinities are not drawn (JSON has neither)."""
    return value if math.isfinite(value) else None


def task_labels(src: Source, run_id: int, task_ids: set[int]) -> dict[int, str]:
    """The line name of each task: ``step/task``, and the value its foreach gave it (the
    innermost one), so that a line reads ``train/3 mlp`` rather than a bare task id."""
    ids = sorted(task_ids)
    found: dict[int, TaskRecord] = {}
    for start in range(0, len(ids), MAX_IDS):  # a run may chart thousands of tasks
        found.update(src.store.tasks_by_id(run_id, ids[start : start + MAX_IDS]))
    labels = {}
    for task_id in task_ids:
        task = found.get(task_id)
        if task is None:
            labels[task_id] = f"?/{task_id}"
            continue
        frames = task.foreach_stack
        labels[task_id] = f"{task.step_name}/{task_id}" + (f" {frames[-1].value}" if frames else "")
    return labels


def encode_cursors(cursors: MetricCursors) -> str:
    """``task.attempt.seq`` of each task, comma separated (opaque to the page)."""
    return ",".join(f"{t}.{a}.{s}" for t, (a, s) in sorted(cursors.items()))


def decode_cursors(text: str) -> MetricCursors:
    out: MetricCursors = {}
    for part in filter(None, text.split(",")):
        fields = part.split(".")
        if len(fields) != 3 or not all(f.isascii() and f.isdigit() and len(f) < 19 for f in fields):
            raise UserError(
                f"'after' must be the cursor a metrics answer gave, got '{shorten(text)}'.",
                hint="Leave it out to read every point.",
            )
        task, attempt, seq = (int(f) for f in fields)
        out[task] = (attempt, seq)
    return out


def compare_charts(src: Source, runs: list[dict[str, Any]], metric: str | None) -> dict[str, Any]:
    """The compare page's ``metrics``: the metric names of the runs' flows, the one chosen
    (``metric``, default the first), and its chart: one line per run, or per run and task
    (``RUN · step/task``) for a run with several tasks that logged it."""
    names = sorted({n for flow in {r["flow"] for r in runs} for n in src.store.metric_names(flow)})
    chosen = metric if metric in names else (names[0] if names else None)
    if chosen is None:
        return {"names": [], "metric": None, "charts": [], "cursor": "", "live": None, "cap": CAP}
    series = []
    for run in runs:
        sample, _cursors = src.store.sample_metrics(run["id"], CAP, name=chosen)
        label = task_labels(src, run["id"], {m.task_id for _order, m in sample})
        lines: dict[str, list[Point]] = defaultdict(list)
        counts: dict[str, int] = {}
        for order, m in sample:
            task = label[m.task_id]
            lines[task].append([float(order) if m.step is None else float(m.step), _y(m.value)])
            counts[task] = order + 1
        for task, points in lines.items():
            line = str(run["id"]) if len(lines) == 1 else f"{run['id']} · {task}"
            series.append({"task": line, "count": counts[task], "points": points})
    chart = {"name": chosen, "series": series}
    return {
        "names": names,
        "metric": chosen,
        "charts": [chart],
        "cursor": "",
        "live": None,
        "cap": CAP,
    }
