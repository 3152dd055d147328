"""The data of the home, flow and run pages, and of the live-update endpoint.

Each function returns one JSON-able dict; ``_app`` sends it as JSON or renders it as HTML.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from ..exceptions import UserError
from ..metadata import TaskRecord, effective_status
from ._cards import card_versions
from ._common import (
    RUN_STATUSES,
    duration,
    find_flow,
    find_run,
    foreach_list,
    load_graph,
    parameter_list,
    run_dict,
    step_status,
    task_status,
    visible_tasks,
)
from ._queries import parameters_for_runs, progress
from ._source import Source
from ._trackers import tracker_links

RECENT_RUNS = 10
DEFAULT_RUN_LIMIT = 100
MAX_RUN_LIMIT = 10_000  # a larger ?limit= lists this many


def index_page(src: Source) -> dict[str, Any]:
    """Every flow with its most recent runs (newest first)."""
    now = time.time()
    flows: list[dict[str, Any]] = []
    for record in src.store.list_flows():
        runs = src.store.list_runs(record.flow_name, limit=RECENT_RUNS)
        flows.append({"name": record.flow_name, "runs": [run_dict(r, now) for r in runs]})
    flows.sort(key=lambda f: -max((r["created_at"] for r in f["runs"]), default=0.0))
    return {"home": src.home, "flows": flows}


def flow_page(
    src: Source,
    flow: str,
    *,
    tags: Sequence[str] = (),
    status: str | None = None,
    limit: int = DEFAULT_RUN_LIMIT,
) -> dict[str, Any]:
    """The runs of a flow, newest first, optionally only those with every tag and a status."""
    find_flow(src, flow)
    if status is not None and status not in RUN_STATUSES:
        raise UserError(
            f"Unknown run status '{status}'.", hint=f"Use one of: {', '.join(RUN_STATUSES)}."
        )
    now = time.time()
    # The status filter uses the effective status, which SQL cannot see: filter after reading.
    records = src.store.list_runs(flow, tags=tags, limit=None if status else limit)
    runs = [run_dict(r, now) for r in records]
    if status is not None:
        runs = [r for r in runs if r["status"] == status][:limit]
    params = parameters_for_runs(src.store, (r["id"] for r in runs))
    for run in runs:
        run["parameters"] = parameter_list(params.get(run["id"], []))
    return {
        "flow": flow,
        "filters": {"tag": list(tags), "status": status, "limit": limit},
        "runs": runs,
    }


def run_page(src: Source, flow: str, run_id: str) -> dict[str, Any]:
    """A run: its steps (graph order) with status and task counts, its tasks and parameters."""
    record = find_run(src, flow, run_id)
    now = time.time()
    run = run_dict(record, now)
    tasks = visible_tasks(src.store.list_tasks(record.run_id))
    graph, graph_error = load_graph(src, record)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for task in tasks:
        counts[task.step_name][task_status(task, run["status"])] += 1
    run["task_counts"] = _total(counts)
    steps = [
        step_entry(name, (graph or {}).get("steps", {}).get(name, {}), tasks, counts, run, now)
        for name in _step_names(graph, tasks)
    ]
    values = parameter_list(src.store.get_parameters(record.run_id))
    configs = set((graph or {}).get("configs", ()))  # the run's Configs, kept with parameters
    return {
        "run": run,
        "parameters": [p for p in values if p["name"] not in configs],
        "configs": [p for p in values if p["name"] in configs],
        "graph": None if graph is None else _graph_summary(graph),
        "graph_error": graph_error,
        "steps": steps,
        "tasks": [_timeline_task(t, run["status"], now) for t in tasks],
        "trackers": tracker_links(src.store, record.run_id),
    }


def live_state(
    src: Source, flow: str, run_id: str, *, task_id: str | None = None
) -> dict[str, Any]:
    """A small, cheap answer for polling: the run's status and a version that changes whenever
    one of its tasks starts or finishes, the scheduler beats, or the run ends.

    With ``task_id``, also the versions of that task's cards, which are part of ``version``:
    a card refreshed while its task runs changes it too.
    """
    record = find_run(src, flow, run_id)
    now = time.time()
    status = effective_status(record, now)
    found = progress(src.store, record.run_id)
    counts = ",".join(f"{k}={v}" for k, v in sorted(found.task_counts.items()))
    # The heartbeat (every few seconds) is part of it so that running bars and durations
    # advance even while no task starts or ends.
    version = (
        f"{status};{counts};{found.last_change:.6f};{record.heartbeat_at};{record.finished_at}"
    )
    state: dict[str, Any] = {
        "pathspec": f"{flow}/{record.run_id}",
        "status": status,
        "task_counts": found.task_counts,
        "version": version,
    }
    if task_id is not None:
        cards = card_versions(src, record, task_id)
        state["cards"] = cards
        state["version"] += ";" + ",".join(f"{c['position']}={c['version']}" for c in cards)
    return state


def _total(counts: dict[str, dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = defaultdict(int)
    for by_status in counts.values():
        for status, n in by_status.items():
            total[status] += n
    return dict(total)


def _step_names(graph: dict[str, Any] | None, tasks: list[TaskRecord]) -> list[str]:
    """The graph's display order, then any step that has tasks but is not in the graph."""
    names: list[str] = list(graph.get("order", [])) if graph else []
    seen = set(names)
    for task in tasks:
        if task.step_name not in seen:
            seen.add(task.step_name)
            names.append(task.step_name)
    return names


def _graph_summary(graph: dict[str, Any]) -> dict[str, Any]:
    keys = ("flow_name", "doc", "file", "start", "end", "order")
    return {k: graph.get(k) for k in keys}


def step_entry(
    name: str,
    node: dict[str, Any],
    tasks: list[TaskRecord],
    counts: dict[str, dict[str, int]],
    run: dict[str, Any],
    now: float,
) -> dict[str, Any]:
    """A step of a run: its node in the stored graph, with the status of its tasks."""
    mine = [t for t in tasks if t.step_name == name]
    by_status = dict(counts.get(name, {}))
    started = min((t.created_at for t in mine), default=None)
    ends = [t.finished_at for t in mine]
    finished = max(e for e in ends if e is not None) if mine and None not in ends else None
    return {
        "name": name,
        "type": node.get("type"),
        "next": list(node.get("next", [])),
        "foreach": node.get("foreach"),
        "condition": node.get("condition"),  # a switch's; its cases are [key, step] pairs
        "switch_cases": [list(case) for case in node.get("switch_cases", [])],
        "doc": node.get("doc"),
        "decorators": [d for d in node.get("decorators", []) if d != "step"],
        "line": node.get("line"),
        "status": step_status(by_status, run["status"]),
        "task_counts": by_status,
        "num_tasks": len(mine),
        "created_at": started,
        "finished_at": finished,
        "duration_s": duration(started, finished, now, by_status.get("running", 0) > 0),
    }


def _timeline_task(task: TaskRecord, run_status: str, now: float) -> dict[str, Any]:
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
