"""`PagedReads`: the reads behind paginated and summarised views of a run, so that a page of
the UI costs the same for a step of 100,000 tasks as for one of 10 (see ``_paging_queries``).

Mixed into `StoreReads`: the same `_reading` snapshot and `_fetch` of every store.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from . import _rows
from ._ids import storable_number, storable_run_id
from ._records import StepTaskStats, TaskFailure, TaskRecord
from ._rows import Row

# Before every task id: the cursor of a first page.
FIRST = ("", -(2**31))
MAX_IDS = 500  # task ids looked up in one query


class PagedReads:
    """Pages of tasks, per-step statistics and lookups by id, over a store's reads."""

    def _reading(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _fetch(self, conn: Any, name: str, params: dict[str, Any]) -> Sequence[Row]:
        raise NotImplementedError

    def task_page(
        self,
        run_id: int,
        step_name: str,
        *,
        after: tuple[str, int] = FIRST,
        statuses: Sequence[str] | None = None,
        limit: int = 200,
    ) -> list[TaskRecord]:
        """At most ``limit`` tasks of a step in foreach order (foreach order, then task id)
        that come after ``after`` (a task's ``(foreach_order, task_id)``), optionally only
        those whose stored status is one of ``statuses``."""
        if not storable_run_id(run_id) or not storable_number(after[1]) or limit <= 0:
            return []
        if statuses is not None and not statuses:
            return []
        params: dict[str, Any] = {
            "run_id": run_id,
            "step_name": step_name,
            "after_order": after[0],
            "after_task": after[1],
            "limit": limit,
        }
        name = "task_page"
        if statuses is not None:
            name, params["statuses"] = "task_page_by_status", sorted(set(statuses))
        with self._reading() as conn:
            rows = self._fetch(conn, name, params)
        return [_rows.task_from_row(r) for r in rows]

    def step_stats(self, run_id: int) -> list[StepTaskStats]:
        """Per step and stored status: task counts, first and last start, last finish, and
        the shortest, longest and total duration of the finished tasks (one query)."""
        if not storable_run_id(run_id):
            return []
        with self._reading() as conn:
            rows = self._fetch(conn, "step_stats", {"run_id": run_id})
        return [
            StepTaskStats(
                step_name=r["step_name"],
                status=r["status"],
                count=int(r["n"]),
                first_start=float(r["first_start"]),
                last_start=float(r["last_start"]),
                last_finish=None if r["last_finish"] is None else float(r["last_finish"]),
                finished=int(r["finished"]),
                min_s=None if r["min_s"] is None else float(r["min_s"]),
                max_s=None if r["max_s"] is None else float(r["max_s"]),
                sum_s=float(r["sum_s"] or 0.0),
            )
            for r in rows
        ]

    def slowest_tasks(self, run_id: int, step_name: str, limit: int) -> list[TaskRecord]:
        """The ``limit`` finished tasks of a step that took longest, longest first."""
        if not storable_run_id(run_id) or limit <= 0:
            return []
        params = {"run_id": run_id, "step_name": step_name, "limit": limit}
        with self._reading() as conn:
            rows = self._fetch(conn, "step_slowest", params)
        return [_rows.task_from_row(r) for r in rows]

    def median_duration(self, run_id: int, step_name: str, finished: int) -> float | None:
        """The median duration of the ``finished`` finished tasks of a step (the lower
        median for an even count), or None when none has finished."""
        if not storable_run_id(run_id) or finished <= 0:
            return None
        params = {"run_id": run_id, "step_name": step_name, "offset": (finished - 1) // 2}
        with self._reading() as conn:
            rows = self._fetch(conn, "step_nth_duration", params)
        return float(rows[0]["d"]) if rows else None

    def tasks_by_id(self, run_id: int, task_ids: Sequence[int]) -> dict[int, TaskRecord]:
        """The tasks of the run with these ids (at most `MAX_IDS` of them are looked up)."""
        ids = _looked_up(run_id, task_ids)
        if not ids:
            return {}
        with self._reading() as conn:
            rows = self._fetch(conn, "tasks_by_id", {"run_id": run_id, "task_ids": ids})
        return {int(r["task_id"]): _rows.task_from_row(r) for r in rows}

    def failures_of(self, run_id: int, task_ids: Sequence[int]) -> dict[int, TaskFailure]:
        """task id -> the exception and exit code of its latest attempt, for these tasks (at
        most `MAX_IDS` of them); a task that has not failed has neither."""
        ids = _looked_up(run_id, task_ids)
        if not ids:
            return {}
        with self._reading() as conn:
            rows = self._fetch(conn, "failures_of_tasks", {"run_id": run_id, "task_ids": ids})
        return {int(r["task_id"]): TaskFailure(r["exception"], r["exit_code"]) for r in rows}

    def start_histogram(
        self, run_id: int, step_name: str, t0: float, width: float
    ) -> dict[int, int]:
        """slice -> how many tasks of the step started in it (slice ``b`` is ``width`` seconds
        from ``t0 + b * width``), counted in SQL whatever the number of tasks."""
        if not storable_run_id(run_id) or width <= 0:
            return {}
        params = {"run_id": run_id, "step_name": step_name, "t0": t0, "width": width}
        with self._reading() as conn:
            rows = self._fetch(conn, "step_start_histogram", params)
        return {int(r["b"]): int(r["n"]) for r in rows}


def _looked_up(run_id: int, task_ids: Sequence[int]) -> list[int]:
    """The task ids a by-id read looks up: storable ones, each once, at most `MAX_IDS`; none
    when the run id cannot be stored."""
    if not storable_run_id(run_id):
        return []
    return sorted({i for i in task_ids if storable_number(i)})[:MAX_IDS]


def page_key(task: TaskRecord) -> tuple[str, int]:
    """The key of ``task`` in a step's foreach order: a `PagedReads.task_page` cursor."""
    return _rows.foreach_order([f.index for f in task.foreach_stack]), task.task_id
