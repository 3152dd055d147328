"""What the run page shows of each step: a summary of its tasks (counts, durations, the
slowest and the failed ones) and, for the timeline, either its tasks or one aggregate bar.

Each costs a bounded number of queries per step whatever the number of tasks: a run of
100,000 tasks has a run page as small as one of 100.
"""

from __future__ import annotations

import time
from typing import Any

from ..metadata import RunRecord, TaskRecord
from ._common import duration, foreach_list, task_status
from ._paging import SUMMARY_TASKS, stored_statuses
from ._source import Source

STEP_BARS = 200  # a step with more tasks is drawn as one aggregate bar
MAX_BARS = 1000  # bars drawn on one timeline in all
SLICES = 60  # an aggregate bar's histogram of task starts


def brief_task(task: TaskRecord, run_status: str, now: float) -> dict[str, Any]:
    status = task_status(task, run_status)
    return {
        "id": task.task_id,
        "step": task.step_name,
        "status": status,
        "created_at": task.created_at,
        "finished_at": task.finished_at,
        "duration_s": duration(task.created_at, task.finished_at, now, status == "running"),
        "foreach": foreach_list(task),
    }


def step_summary(
    src: Source, run: RunRecord, name: str, stats: dict[str, Any] | None, run_status: str
) -> dict[str, Any]:
    """Durations (shortest, median, mean, longest of the finished tasks), the slowest tasks
    and the first failed tasks (in foreach order) of step ``name``."""
    now = time.time()
    if not stats:
        return {"min_s": None, "median_s": None, "mean_s": None, "max_s": None,
                "slowest": [], "failed": []}  # fmt: skip
    finished = stats["finished"]
    median = stats["min_s"] if finished <= 2 else None
    if median is None and finished:
        median = src.store.median_duration(run.run_id, name, finished)
    slowest: list[TaskRecord] = []
    if stats["count"] > 1:
        slowest = src.store.slowest_tasks(run.run_id, name, SUMMARY_TASKS)
    failed: list[TaskRecord] = []
    if stats["counts"].get("failed"):
        statuses = stored_statuses("failed", run_status)
        failed = src.store.task_page(run.run_id, name, statuses=statuses, limit=SUMMARY_TASKS)
    return {
        "min_s": stats["min_s"],
        "median_s": median,
        "mean_s": stats["mean_s"],
        "max_s": stats["max_s"],
        "slowest": [brief_task(t, run_status, now) for t in slowest],
        "failed": [brief_task(t, run_status, now) for t in failed],
    }


def timeline_data(
    src: Source, run: RunRecord, steps: list[dict[str, Any]], run_status: str, now: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The tasks drawn one bar each (steps of at most `STEP_BARS` tasks, `MAX_BARS` in all)
    and one aggregate per other step: its span, task count and counts by status."""
    tasks: list[dict[str, Any]] = []
    aggregates: list[dict[str, Any]] = []
    for step in steps:
        n = step["num_tasks"]
        if not n:
            continue
        if n <= STEP_BARS and len(tasks) + n <= MAX_BARS:
            found = src.store.task_page(run.run_id, step["name"], limit=n)
            tasks.extend(brief_task(t, run_status, now) for t in found)
            continue
        aggregates.append(
            {
                "step": step["name"],
                "status": step["status"],
                "num_tasks": n,
                "task_counts": step["task_counts"],
                "created_at": step["created_at"],
                "finished_at": step["finished_at"],
                "starts": _starts(src, run, step, now),
            }
        )
    return tasks, aggregates


def _starts(src: Source, run: RunRecord, step: dict[str, Any], now: float) -> list[int]:
    """How many of the step's tasks started in each of `SLICES` equal slices of its span."""
    t0 = step["created_at"]
    if t0 is None:
        return []
    width = max((step["finished_at"] or now) - t0, 1e-3) / SLICES
    counts = [0] * SLICES
    for index, n in src.store.start_histogram(run.run_id, step["name"], t0, width).items():
        counts[min(max(index, 0), SLICES - 1)] += n
    return counts
