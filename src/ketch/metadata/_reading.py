"""`StoreReads`: the `MetadataReader` methods, written once for every store.

Each method runs named queries of ``_queries`` through the store's `_fetch` (``sqlite3`` on the
SQL compiled ahead of time, or SQLAlchemy on the statement itself) inside the store's
`_reading` snapshot, and turns the rows into records with ``_rows``. This module does not import
SQLAlchemy: a SQLite reader opens in a millisecond.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from . import _rows
from ._ids import storable_number, storable_run_id, storable_task
from ._paged_reading import PagedReads
from ._records import (
    ArtifactRecord,
    AttemptRecord,
    FlowRecord,
    MetricAggregate,
    MetricCursors,
    MetricRecord,
    ParameterRecord,
    RunLinkRecord,
    RunProgress,
    RunRecord,
    RunSummary,
    StepRecord,
    TaskFailure,
    TaskRecord,
    TaskSnapshot,
)
from ._rows import Row


def listing(flow: bool, tags: bool, limit: bool, before: bool = False) -> str:
    """The shape of a runs listing (which of flow name, tags, limit and cursor it has), naming
    the variant of the listing queries (``runs/SHAPE``, ...) in ``_queries``."""
    shape = ("f" if flow else "") + ("t" if tags else "") + ("l" if limit else "")
    return shape + ("b" if before else "") or "-"


class StoreReads(PagedReads):
    """The reads of `MetadataReader`, over a store's `_reading` and `_fetch`."""

    def _reading(self) -> AbstractContextManager[Any]:
        """One snapshot (a connection in a read transaction, or the open batch's)."""
        raise NotImplementedError

    def _fetch(self, conn: Any, name: str, params: dict[str, Any]) -> Sequence[Row]:
        """The rows of query ``name`` (see ``_queries``) with ``params``; a list value is an
        expanding ``IN`` and must not be empty."""
        raise NotImplementedError

    def list_flows(self) -> list[FlowRecord]:
        with self._reading() as conn:
            rows = self._fetch(conn, "flows", {})
        return [FlowRecord(flow_name=r["flow_name"], created_at=r["created_at"]) for r in rows]

    def _get_run(self, conn: Any, run_id: int) -> RunRecord | None:
        found = self._fetch(conn, "run", {"run_id": run_id})
        if not found:
            return None
        tags = self._fetch(conn, "run_tags", {"run_id": run_id})
        return _rows.run_from_row(found[0], ((t["tag"], bool(t["is_system"])) for t in tags))

    def get_run(self, run_id: int) -> RunRecord | None:
        if not storable_run_id(run_id):
            return None
        with self._reading() as conn:
            return self._get_run(conn, run_id)

    @staticmethod
    def _listing(
        flow_name: str | None, tags: Iterable[str], limit: int | None, before: int | None = None
    ) -> tuple[str, dict[str, Any]]:
        params: dict[str, Any] = {}
        if before is not None:
            params["before"] = before
        if flow_name is not None:
            params["flow_name"] = flow_name
        wanted = sorted(set(tags))
        if wanted:
            params["tags"] = wanted
            params["n_tags"] = len(wanted)
        if limit is not None:
            params["limit"] = limit
        shape = listing(flow_name is not None, bool(wanted), limit is not None, before is not None)
        return shape, params

    def _list_runs(self, conn: Any, shape: str, params: dict[str, Any]) -> list[RunRecord]:
        found = self._fetch(conn, f"runs/{shape}", params)
        if not found:
            return []
        tags: dict[int, list[tuple[str, bool]]] = defaultdict(list)
        for t in self._fetch(conn, f"runs_tags/{shape}", params):
            tags[int(t["run_id"])].append((t["tag"], bool(t["is_system"])))
        return [_rows.run_from_row(r, tags.get(int(r["run_id"]), ())) for r in found]

    def list_runs(
        self,
        flow_name: str | None = None,
        *,
        tags: Iterable[str] = (),
        limit: int | None = None,
        before: int | None = None,
    ) -> list[RunRecord]:
        if before is not None and not storable_run_id(before):
            before = None if before > 0 else 0
        shape, params = self._listing(flow_name, tags, limit, before)
        with self._reading() as conn:
            return self._list_runs(conn, shape, params)

    def list_run_summaries(
        self, flow_name: str | None = None, *, tags: Iterable[str] = (), limit: int | None = None
    ) -> list[RunSummary]:
        shape, params = self._listing(flow_name, tags, limit)
        counts: dict[int, dict[str, int]] = defaultdict(dict)
        with self._reading() as conn:
            found = self._list_runs(conn, shape, params)
            if not found:
                return []
            for r in self._fetch(conn, f"runs_task_counts/{shape}", params):
                counts[int(r["run_id"])][r["status"]] = int(r["n"])
        return [RunSummary(run=r, task_counts=counts.get(r.run_id, {})) for r in found]

    def get_parameters(self, run_id: int) -> list[ParameterRecord]:
        if not storable_run_id(run_id):
            return []
        with self._reading() as conn:
            rows = self._fetch(conn, "parameters", {"run_id": run_id})
        return [_rows.parameter_from_row(r) for r in rows]

    def parameters_for_runs(self, run_ids: Iterable[int]) -> dict[int, list[ParameterRecord]]:
        ids = sorted({i for i in run_ids if storable_run_id(i)})
        out: dict[int, list[ParameterRecord]] = defaultdict(list)
        with self._reading() as conn:
            for start in range(0, len(ids), _rows.RUN_ID_CHUNK):
                chunk = ids[start : start + _rows.RUN_ID_CHUNK]
                for r in self._fetch(conn, "parameters_of_runs", {"run_ids": chunk}):
                    out[int(r["run_id"])].append(_rows.parameter_from_row(r))
        return out

    def list_steps(self, run_id: int) -> list[StepRecord]:
        if not storable_run_id(run_id):
            return []
        with self._reading() as conn:
            rows = self._fetch(conn, "steps", {"run_id": run_id})
        return [StepRecord(r["run_id"], r["step_name"], r["created_at"]) for r in rows]

    def list_tasks(self, run_id: int, step_name: str | None = None) -> list[TaskRecord]:
        if not storable_run_id(run_id):
            return []
        with self._reading() as conn:
            if step_name is None:
                rows = self._fetch(conn, "tasks", {"run_id": run_id})
            else:
                params = {"run_id": run_id, "step_name": step_name}
                rows = self._fetch(conn, "tasks_of_step", params)
        return [_rows.task_from_row(r) for r in rows]

    def get_task(self, run_id: int, task_id: int) -> TaskRecord | None:
        if not storable_task(run_id, task_id):
            return None
        with self._reading() as conn:
            rows = self._fetch(conn, "task", {"run_id": run_id, "task_id": task_id})
        return _rows.task_from_row(rows[0]) if rows else None

    def list_attempts(self, run_id: int, task_id: int | None = None) -> list[AttemptRecord]:
        if not storable_run_id(run_id) or (task_id is not None and not storable_number(task_id)):
            return []
        with self._reading() as conn:
            if task_id is None:
                rows = self._fetch(conn, "attempts", {"run_id": run_id})
            else:
                params = {"run_id": run_id, "task_id": task_id}
                rows = self._fetch(conn, "attempts_of_task", params)
        return [_rows.attempt_from_row(r) for r in rows]

    def list_artifacts(
        self, run_id: int, task_id: int, attempt: int | None = None
    ) -> list[ArtifactRecord]:
        if not storable_task(run_id, task_id, attempt):
            return []
        params: dict[str, Any] = {"run_id": run_id, "task_id": task_id}
        with self._reading() as conn:
            if attempt is None:
                found = self._fetch(conn, "task_attempt", params)
                if not found:
                    return []
                attempt = int(found[0]["attempt"])
            rows = self._fetch(conn, "artifacts_of_attempt", {**params, "attempt": attempt})
        return [_rows.artifact_from_row(r) for r in rows]

    def iter_run_artifacts(self, run_id: int) -> Iterator[tuple[int, ArtifactRecord]]:
        if not storable_run_id(run_id):
            return iter([])
        with self._reading() as conn:
            rows = self._fetch(conn, "run_artifacts", {"run_id": run_id})
        return iter([(int(r["task_id"]), _rows.artifact_from_row(r)) for r in rows])

    def list_run_links(self, run_id: int) -> list[RunLinkRecord]:
        """Where experiment trackers keep the run, by tracker name."""
        if not storable_run_id(run_id):
            return []
        with self._reading() as conn:
            rows = self._fetch(conn, "run_links", {"run_id": run_id})
        return [_rows.run_link_from_row(r) for r in rows]

    def list_metrics(
        self, run_id: int, task_id: int | None = None, attempt: int | None = None
    ) -> list[MetricRecord]:
        """Metrics of the latest attempt of every task of the run (or of one task, or of one
        attempt of it), by task, then in the order logged."""
        if not storable_task(run_id, task_id or 0, attempt):
            return []
        params: dict[str, Any] = {"run_id": run_id, "task_id": task_id}
        with self._reading() as conn:
            if task_id is None:
                rows = self._fetch(conn, "run_metrics", {"run_id": run_id})
            elif attempt is None:
                rows = self._fetch(conn, "task_metrics", params)
            else:
                rows = self._fetch(conn, "attempt_metrics", {**params, "attempt": attempt})
        return [_rows.metric_from_row(r) for r in rows]

    def sample_metrics(
        self, run_id: int, cap: int, name: str | None = None
    ) -> tuple[list[tuple[int, MetricRecord]], MetricCursors]:
        """The run's metrics (of ``name`` only) as `list_metrics` orders them, each (task,
        name) series thinned evenly to about ``cap`` points (its last point kept), each with
        its place in its series (from 0), and the cursors that `metrics_since` continues
        from (read in the same snapshot).

        A task that logged at most ``cap`` points is read whole (many tasks a query); a
        larger one is read by buckets (``metric_buckets``): no query sorts the whole run."""
        if not storable_run_id(run_id):
            return [], {}
        cap = max(2, cap)
        out: list[tuple[int, MetricRecord, int]] = []
        with self._reading() as conn:
            cursors = self._metric_cursors(conn, run_id)
            small = [t for t, (_attempt, last) in sorted(cursors.items()) if last < cap]
            for start in range(0, len(small), _rows.RUN_ID_CHUNK):
                chunk = {"run_id": run_id, "task_ids": small[start : start + _rows.RUN_ID_CHUNK]}
                out += _rows.in_series(self._fetch(conn, "metrics_of_tasks", chunk), name)
            for task_id, (attempt, last) in sorted(cursors.items()):
                if last >= cap:
                    params = {"run_id": run_id, "task_id": task_id, "attempt": attempt}
                    width = -(-(last + 1) * 2 // cap)
                    rows = self._fetch(conn, "metric_buckets", {**params, "width": width})
                    out += _rows.bucketed(rows, name)
        out.sort(key=lambda p: (p[1].task_id, p[2]))
        return [(order, m) for order, m, _seq in out], cursors

    def metrics_since(
        self, run_id: int, cursors: MetricCursors
    ) -> tuple[list[MetricRecord], MetricCursors]:
        """The points logged after ``cursors`` (all of a task's latest attempt when it is not
        the attempt its cursor names), by task then order, and the new cursors."""
        if not storable_run_id(run_id):
            return [], {}
        out: list[Any] = []
        with self._reading() as conn:
            now = self._metric_cursors(conn, run_id)
            for task_id, (attempt, last) in sorted(now.items()):
                seen_attempt, seen = cursors.get(task_id, (attempt, -1))
                after = seen if seen_attempt == attempt else -1
                if after >= last:
                    continue
                params = {"run_id": run_id, "task_id": task_id, "attempt": attempt}
                out += self._fetch(conn, "metric_tail", {**params, "after": after, "upto": last})
        return [_rows.metric_from_row(r) for r in out], now

    def _metric_cursors(self, conn: Any, run_id: int) -> MetricCursors:
        # One lookup per task of the run: skipped for a run that logged nothing (most runs,
        # and a 100,000-task run page must not pay 100,000 lookups for no chart).
        if not self._fetch(conn, "run_has_metrics", {"run_id": run_id}):
            return {}
        rows = self._fetch(conn, "metric_cursors", {"run_id": run_id})
        return {
            int(r["task_id"]): (int(r["attempt"]), int(r["last_seq"]))
            for r in rows
            if r["last_seq"] is not None
        }

    def aggregate_metric(self, flow_name: str, name: str) -> list[MetricAggregate]:
        """Per run of the flow whose tasks logged ``name``: its last, largest and smallest
        value (one query, whatever the number of runs)."""
        params = {"flow_name": flow_name, "name": name}
        with self._reading() as conn:
            rows = self._fetch(conn, "metric_by_run", params)
        return [
            MetricAggregate(
                run_id=int(r["run_id"]),
                last=_rows.number(r["last_value"]),
                max=_rows.number(r["max_value"]),
                min=_rows.number(r["min_value"]),
            )
            for r in rows
        ]

    def metric_names(self, flow_name: str) -> list[str]:
        """The names of the metrics logged in any run of the flow, sorted."""
        with self._reading() as conn:
            rows = self._fetch(conn, "metric_names", {"flow_name": flow_name})
        return [str(r["name"]) for r in rows]

    def snapshot_step(
        self, run_ids: Sequence[int], step_name: str
    ) -> dict[int, list[TaskSnapshot]]:
        ids = sorted({i for i in run_ids if storable_run_id(i)})
        out: dict[int, list[TaskSnapshot]] = {}
        with self._reading() as conn:
            for start in range(0, len(ids), _rows.RUN_ID_CHUNK):
                params = {
                    "run_ids": ids[start : start + _rows.RUN_ID_CHUNK],
                    "step_name": step_name,
                }
                tasks = self._fetch(conn, "snapshot_tasks", params)
                attempts = self._fetch(conn, "snapshot_attempts", params)
                artifacts = self._fetch(conn, "snapshot_artifacts", params)
                out.update(_rows.snapshots(tasks, attempts, artifacts))
        return out

    def failures(self, run_id: int, step_name: str | None = None) -> dict[int, TaskFailure]:
        if not storable_run_id(run_id):
            return {}
        with self._reading() as conn:
            if step_name is None:
                rows = self._fetch(conn, "failures", {"run_id": run_id})
            else:
                params = {"run_id": run_id, "step_name": step_name}
                rows = self._fetch(conn, "failures_of_step", params)
        return {int(r["task_id"]): TaskFailure(r["exception"], r["exit_code"]) for r in rows}

    def progress(self, run_id: int, *, except_step: str = "") -> RunProgress:
        if not storable_run_id(run_id):
            return RunProgress({}, 0.0)
        with self._reading() as conn:
            rows = self._fetch(conn, "progress", {"run_id": run_id, "except_step": except_step})
        counts: dict[str, int] = {}
        last_change = 0.0
        for r in rows:
            counts[str(r["status"])] = int(r["n"])
            last_change = max(last_change, r["created"] or 0.0, r["finished"] or 0.0)
        return RunProgress(counts, last_change)
