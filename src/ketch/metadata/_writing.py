"""`StoreWrites`: the `MetadataWriter` methods (but ``batch``), written once for every store.

Each method runs named write statements of ``_statements.WRITES`` through the store's
`_execute` (``sqlite3`` on the SQL ``_sqlite_gen`` compiled ahead of time, or SQLAlchemy on the
statement itself) inside the store's `_writing` transaction (the open batch's, or one of its
own). Like ``_reading``, this module does not import SQLAlchemy.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from ketch.exceptions import NotFoundError

from . import _rows
from ._ids import create_with_run_id, storable_run_id
from ._reading import StoreReads
from ._records import (
    ArtifactRecord,
    AttemptRecord,
    MetricPoint,
    ParameterRecord,
    RunLinkRecord,
    RunRecord,
    RunStatus,
    TaskRecord,
)


def _no_run(run_id: int) -> NotFoundError:
    return NotFoundError(f"run {run_id} does not exist in the metadata store")


class StoreWrites(StoreReads):
    """The writes of `MetadataWriter`, over a store's `_writing` and `_execute`."""

    # What the driver raises when a run id is taken already (see `create_with_run_id`).
    _integrity_error: type[Exception] = Exception

    def _writing(self) -> AbstractContextManager[Any]:
        """The open batch's connection, or a write transaction of its own."""
        raise NotImplementedError

    def _execute(self, conn: Any, name: str, params: dict[str, Any] | list[dict[str, Any]]) -> int:
        """Run write statement ``name`` once (a dict) or per row (a list, maybe empty);
        returns the number of rows changed."""
        raise NotImplementedError

    def _require_run(self, conn: Any, run_id: int) -> None:
        if not storable_run_id(run_id) or not self._fetch(conn, "run_exists", {"run_id": run_id}):
            raise _no_run(run_id)

    def _update_run(self, name: str, run_id: int, **values: Any) -> None:
        if not storable_run_id(run_id):
            raise _no_run(run_id)
        with self._writing() as conn:
            if self._execute(conn, name, {"b_run_id": run_id, **values}) == 0:
                raise _no_run(run_id)

    def create_run(
        self,
        flow_name: str,
        *,
        user: str,
        tags: Iterable[str],
        system_tags: Iterable[str],
        origin_run_id: int | None = None,
        code_key: str | None = None,
        scheduler_pid: int | None = None,
        hostname: str | None = None,
        datastore_url: str | None = None,
        run_id: int | None = None,
        created_at: float | None = None,
    ) -> RunRecord:
        """Create the flow if needed and a new run in status ``running``; returns it.

        ``run_id`` defaults to :func:`new_run_id` (a microsecond timestamp, as in Metaflow);
        ``created_at`` to now.
        """
        now = time.time() if created_at is None else created_at
        run = {
            "flow_name": flow_name,
            "user_name": user,
            "status": "running",
            "created_at": now,
            "finished_at": None,
            "heartbeat_at": None,
            "origin_run_id": origin_run_id,
            "code_key": code_key,
            "graph_key": None,
            "scheduler_pid": scheduler_pid,
            "hostname": hostname,
            "datastore_url": datastore_url,
        }

        def create(run_id: int) -> RunRecord:
            with self._writing() as conn:
                self._execute(conn, "insert_flow", {"flow_name": flow_name, "created_at": now})
                self._execute(conn, "insert_run", {"run_id": run_id, **run})
                # System tags first: a name given as both stays a (non-removable) system tag.
                self._execute(conn, "insert_tag", _rows.tag_rows(run_id, system_tags, system=True))
                self._execute(conn, "insert_tag", _rows.tag_rows(run_id, tags, system=False))
                record = self._get_run(conn, run_id)
            assert record is not None
            return record

        return create_with_run_id(create, run_id, self._integrity_error)

    def set_parameters(self, run_id: int, parameters: Sequence[ParameterRecord]) -> None:
        """Set the run's parameters (replacing any set before), kept in the given order."""
        rows = _rows.parameter_rows(run_id, parameters)
        with self._writing() as conn:
            self._require_run(conn, run_id)
            self._execute(conn, "delete_parameters", {"run_id": run_id})
            self._execute(conn, "insert_parameter", rows)

    def set_code_key(self, run_id: int, code_key: str) -> None:
        self._update_run("set_code_key", run_id, code_key=code_key)

    def set_graph_key(self, run_id: int, graph_key: str) -> None:
        self._update_run("set_graph_key", run_id, graph_key=graph_key)

    def heartbeat(self, run_id: int, at: float) -> None:
        self._update_run("set_heartbeat", run_id, heartbeat_at=at)

    def finish_run(self, run_id: int, status: RunStatus, finished_at: float) -> None:
        self._update_run("finish_run", run_id, status=status, finished_at=finished_at)

    def upsert_task(self, task: TaskRecord) -> None:
        """Insert or replace the task (and its step row on first sight)."""
        step = {"run_id": task.run_id, "step_name": task.step_name, "created_at": task.created_at}
        with self._writing() as conn:
            self._execute(conn, "insert_step", step)
            self._execute(conn, "upsert_task", _rows.task_to_row(task))

    def upsert_attempt(self, attempt: AttemptRecord) -> None:
        with self._writing() as conn:
            self._execute(conn, "upsert_attempt", _rows.attempt_to_row(attempt))

    def add_artifacts(
        self, run_id: int, task_id: int, attempt: int, artifacts: Sequence[ArtifactRecord]
    ) -> None:
        """Record artifacts of one attempt (a name written again replaces the earlier row)."""
        rows = [_rows.artifact_to_row(run_id, task_id, attempt, a) for a in artifacts]
        if rows:
            with self._writing() as conn:
                self._execute(conn, "upsert_artifact", rows)

    def add_metrics(
        self,
        run_id: int,
        task_id: int,
        attempt: int,
        step_name: str,
        points: Sequence[MetricPoint],
        first_seq: int = 0,
    ) -> None:
        """Record the metrics one attempt logged, numbered from ``first_seq`` (a running task
        sends them in batches; written again, the rows are replaced)."""
        rows = _rows.metric_rows(run_id, task_id, attempt, step_name, points, first_seq)
        if rows:
            with self._writing() as conn:
                self._execute(conn, "upsert_metric", rows)

    def add_run_link(self, link: RunLinkRecord) -> None:
        """Record where a tracker keeps the run (written again for that tracker: replaced)."""
        with self._writing() as conn:
            self._execute(conn, "upsert_run_link", [_rows.run_link_row(link)])

    def add_tags(self, run_id: int, tags: Iterable[str]) -> None:
        """Add user tags (idempotent)."""
        with self._writing() as conn:
            self._require_run(conn, run_id)
            self._execute(conn, "insert_tag", _rows.tag_rows(run_id, tags, system=False))

    def remove_tags(self, run_id: int, tags: Iterable[str]) -> None:
        """Remove user tags; system tags are never removed."""
        rows = [{"run_id": run_id, "tag": t} for t in sorted(set(tags))]
        with self._writing() as conn:
            self._require_run(conn, run_id)
            self._execute(conn, "delete_user_tag", rows)
