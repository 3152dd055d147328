"""The data of the step page (its tasks) and the task page (cards, artifacts, logs, attempts)."""

from __future__ import annotations

import time
from typing import Any

from ..datastore import BlobStore, read_tail
from ..exceptions import DataIntegrityError, NotFoundError, UserError
from ..metadata import AttemptRecord, RunRecord, TaskRecord
from ..metadata._paged_reading import FIRST, MAX_IDS, page_key
from ..metadata._records import PARAMETERS_STEP
from ._cards import card_entries
from ._common import (
    RUN_STATUSES,
    choose_attempt,
    duration,
    find_run,
    find_task,
    foreach_list,
    load_graph,
    run_dict,
    task_status,
)
from ._pages import step_entry
from ._paging import (
    DEFAULT_TASK_LIMIT,
    decode_task_cursor,
    group_stats,
    stored_statuses,
    task_cursor,
)
from ._preview import artifact_entry
from ._queries import Failure
from ._source import Source

MAX_LOG_BYTES = 1 << 20  # longer logs show their last MiB
MAX_INPUTS = min(50, MAX_IDS)  # inputs of a join task named on its page


def step_page(
    src: Source,
    flow: str,
    run_id: str,
    step: str,
    *,
    status: str | None = None,
    limit: int = DEFAULT_TASK_LIMIT,
    after: str | None = None,
    from_task: str | None = None,
) -> dict[str, Any]:
    """A page of the tasks of a step in foreach order, optionally only those with ``status``:
    at most ``limit`` tasks after the cursor ``after``, or from task ``from_task`` on; ``next``
    is the cursor of the following page (None on the last)."""
    record = find_run(src, flow, run_id)
    if status is not None and status not in RUN_STATUSES:
        raise UserError(
            f"Unknown task status '{status}'.", hint=f"Use one of: {', '.join(RUN_STATUSES)}."
        )
    now = time.time()
    run = run_dict(record, now)
    rows = [] if step == PARAMETERS_STEP else src.store.step_stats(record.run_id)
    stats = group_stats([r for r in rows if r.step_name == step], run["status"]).get(step)
    graph, _error = load_graph(src, record)
    node = (graph or {}).get("steps", {}).get(step)
    if not stats and node is None:
        raise NotFoundError(
            f"Step '{flow}/{record.run_id}/{step}' does not exist.",
            hint=f"The page of run {flow}/{record.run_id} lists its steps.",
        )
    start = _start(src, record, step, after, from_task)
    statuses = None if status is None else stored_statuses(status, run["status"])
    found = [] if not stats else src.store.task_page(
        record.run_id, step, after=start, statuses=statuses, limit=limit + 1
    )  # fmt: skip
    more, found = len(found) > limit, found[:limit]
    failed = [t.task_id for t in found if task_status(t, run["status"]) == "failed"]
    failures = src.store.failures_of(record.run_id, failed) if failed else {}
    return {
        "run": run,
        "step": step_entry(step, node or {}, stats, run, now),
        "filters": {"status": status, "limit": limit, "after": after, "task": from_task},
        "tasks": [
            _task_entry(record, t, run["status"], now, failures.get(t.task_id)) for t in found
        ],
        "next": task_cursor(found[-1]) if more else None,
    }


def _start(
    src: Source, run: RunRecord, step: str, after: str | None, from_task: str | None
) -> tuple[str, int]:
    """Where a page of tasks starts: after the cursor ``after``, or at task ``from_task``."""
    if from_task is None:
        return FIRST if after is None else decode_task_cursor(after)
    order, task_id = page_key(find_task(src, run, step, from_task))
    return order, task_id - 1


def task_page(
    src: Source, flow: str, run_id: str, step: str, task_id: str, *, attempt: str | None = None
) -> dict[str, Any]:
    """One task: its cards, artifacts (with previews), logs and attempts.

    ``attempt`` picks which attempt's cards, artifacts and logs to show (default: the latest).
    """
    record = find_run(src, flow, run_id)
    now = time.time()
    run = run_dict(record, now)
    task = find_task(src, record, step, task_id)
    attempts = src.store.list_attempts(record.run_id, task.task_id)
    chosen = choose_attempt(task, attempts, attempt)
    shown = next((a for a in attempts if a.attempt == chosen), None)
    records = src.store.list_artifacts(record.run_id, task.task_id, chosen)
    blobs = src.blobs_for(record)
    artifacts = [artifact_entry(blobs, a) for a in records if not a.name.startswith("_")]
    cards, cards_error = card_entries(src, record, task, shown, records)
    entry = _task_entry(record, task, run["status"], now, None)
    entry["attempt"] = chosen
    entry["inputs"] = _inputs(src, record, task)
    entry["num_inputs"] = len(task.input_task_ids)
    return {
        "run": run,
        "step": {"name": step},
        "task": entry,
        "attempts": [_attempt_dict(a, run["status"], now) for a in attempts],
        "cards": cards,
        "cards_error": cards_error,
        "artifacts": artifacts,
        "logs": {
            "stdout": _log(blobs, None if shown is None else shown.stdout_key),
            "stderr": _log(blobs, None if shown is None else shown.stderr_key),
        },
    }


def _task_entry(
    run: RunRecord, task: TaskRecord, run_status: str, now: float, failure: Failure | None
) -> dict[str, Any]:
    status = task_status(task, run_status)
    origin = None
    if task.origin_run_id is not None:
        origin = f"{run.flow_name}/{task.origin_run_id}/{task.step_name}/{task.origin_task_id}"
    return {
        "id": task.task_id,
        "pathspec": f"{run.flow_name}/{run.run_id}/{task.step_name}/{task.task_id}",
        "status": status,
        "created_at": task.created_at,
        "finished_at": task.finished_at,
        "duration_s": duration(task.created_at, task.finished_at, now, status == "running"),
        "attempts": task.attempt + 1,
        "foreach": foreach_list(task),
        "exception": None if failure is None else failure.exception,
        "origin": origin,
    }


def _inputs(src: Source, run: RunRecord, task: TaskRecord) -> list[dict[str, Any]]:
    """The first `MAX_INPUTS` tasks whose outputs this one read, in input order (a join of
    100,000 tasks names them all in ``num_inputs``, and links the first ones)."""
    ids = task.input_task_ids[:MAX_INPUTS]
    found = src.store.tasks_by_id(run.run_id, ids) if ids else {}
    return [
        {
            "id": tid,
            "step": found[tid].step_name,
            "pathspec": f"{run.flow_name}/{run.run_id}/{found[tid].step_name}/{tid}",
        }
        for tid in ids
        if tid in found
    ]


def _attempt_dict(attempt: AttemptRecord, run_status: str, now: float) -> dict[str, Any]:
    status = attempt.status
    if status == "running" and run_status != "running":
        status = "failed"
    return {
        "attempt": attempt.attempt,
        "status": status,
        "started_at": attempt.started_at,
        "finished_at": attempt.finished_at,
        "duration_s": duration(attempt.started_at, attempt.finished_at, now, status == "running"),
        "exit_code": attempt.exit_code,
        "exception": attempt.exception,
        "traceback": attempt.traceback,
        "pid": attempt.pid,
        "node": attempt.node,
    }


def _log(blobs: BlobStore, key: str | None) -> dict[str, Any]:
    """A log's text (its last MiB, read without holding a long log whole), or the error
    that kept it from loading."""
    if not key:
        return {"text": None, "size": 0, "truncated": False, "error": None}
    try:
        tail, size = read_tail(blobs, key, MAX_LOG_BYTES)
    except DataIntegrityError as exc:
        error = {"headline": exc.headline, "message": exc.detail, "hint": exc.hint}
        return {"text": None, "size": 0, "truncated": False, "error": error}
    return {
        "text": tail.decode("utf-8", errors="replace"),
        "size": size,
        "truncated": size > MAX_LOG_BYTES,
        "error": None,
    }
