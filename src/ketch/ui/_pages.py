"""The data of the home, flow and run pages, and of the live-update endpoint.

Each function returns one JSON-able dict; ``_app`` sends it as JSON or renders it as HTML.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from ..exceptions import UserError
from ..metadata import effective_status
from ..metadata._records import PARAMETERS_STEP
from ._cards import card_versions
from ._common import (
    RUN_STATUSES,
    duration,
    find_flow,
    find_run,
    load_graph,
    parameter_list,
    run_dict,
    step_status,
)
from ._paging import decode_run_cursor, encode_cursor, group_stats
from ._queries import parameters_for_runs, progress
from ._run_summary import step_summary, timeline_data
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
    after: str | None = None,
) -> dict[str, Any]:
    """A page of the runs of a flow, newest first, optionally only those with every tag and a
    status; ``next`` is the cursor of the following page (None on the last)."""
    find_flow(src, flow)
    if status is not None and status not in RUN_STATUSES:
        raise UserError(
            f"Unknown run status '{status}'.", hint=f"Use one of: {', '.join(RUN_STATUSES)}."
        )
    before = None if after is None else decode_run_cursor(after)
    now = time.time()
    # The status filter uses the effective status, which SQL cannot see: filter after reading.
    wanted = None if status else limit + 1
    records = src.store.list_runs(flow, tags=tags, limit=wanted, before=before)
    runs = [run_dict(r, now) for r in records]
    if status is not None:
        runs = [r for r in runs if r["status"] == status][: limit + 1]
    more = len(runs) > limit
    runs = runs[:limit]
    params = parameters_for_runs(src.store, (r["id"] for r in runs))
    for run in runs:
        run["parameters"] = parameter_list(params.get(run["id"], []))
    return {
        "flow": flow,
        "filters": {"tag": list(tags), "status": status, "limit": limit, "after": after},
        "runs": runs,
        "next": encode_cursor([runs[-1]["id"]]) if more else None,
    }


def run_page(src: Source, flow: str, run_id: str) -> dict[str, Any]:
    """A run: its steps (graph order) with status, task counts and a summary of their tasks,
    its parameters, and the tasks of its timeline (steps of many tasks are aggregates)."""
    record = find_run(src, flow, run_id)
    now = time.time()
    run = run_dict(record, now)
    rows = [s for s in src.store.step_stats(record.run_id) if s.step_name != PARAMETERS_STEP]
    stats = group_stats(rows, run["status"])
    graph, graph_error = load_graph(src, record)
    run["task_counts"] = _total({name: s["counts"] for name, s in stats.items()})
    nodes = (graph or {}).get("steps", {})
    steps = [
        step_entry(name, nodes.get(name, {}), stats.get(name), run, now)
        for name in _step_names(
            graph, [s.step_name for s in src.store.list_steps(record.run_id)], stats
        )
    ]
    for step in steps:
        step["summary"] = step_summary(
            src, record, step["name"], stats.get(step["name"]), run["status"]
        )
    tasks, aggregates = timeline_data(src, record, steps, run["status"], now)
    values = parameter_list(src.store.get_parameters(record.run_id))
    configs = set((graph or {}).get("configs", ()))  # the run's Configs, kept with parameters
    return {
        "run": run,
        "parameters": [p for p in values if p["name"] not in configs],
        "configs": [p for p in values if p["name"] in configs],
        "graph": None if graph is None else _graph_summary(graph),
        "graph_error": graph_error,
        "steps": steps,
        "tasks": tasks,
        "timeline_aggregates": aggregates,
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


def _step_names(
    graph: dict[str, Any] | None, started: list[str], stats: dict[str, Any]
) -> list[str]:
    """The graph's display order, then any step that has tasks but is not in the graph (in
    the order the steps started)."""
    names: list[str] = list(graph.get("order", [])) if graph else []
    for name in [*started, *sorted(stats)]:
        if name in stats and name not in names:
            names.append(name)
    return names


def _graph_summary(graph: dict[str, Any]) -> dict[str, Any]:
    keys = ("flow_name", "doc", "file", "start", "end", "order")
    return {k: graph.get(k) for k in keys}


def step_entry(
    name: str,
    node: dict[str, Any],
    stats: dict[str, Any] | None,
    run: dict[str, Any],
    now: float,
) -> dict[str, Any]:
    """A step of a run: its node in the stored graph, with the status of its tasks (``stats``:
    the step's entry of `group_stats`)."""
    by_status = dict(stats["counts"]) if stats else {}
    started = stats["first_start"] if stats else None
    finished = stats["last_finish"] if stats else None
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
        "num_tasks": stats["count"] if stats else 0,
        "created_at": started,
        "finished_at": finished,
        "duration_s": duration(started, finished, now, by_status.get("running", 0) > 0),
    }
