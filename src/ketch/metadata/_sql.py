"""`SqlMetadataStore`: the metadata store on SQLite or PostgreSQL, with SQLAlchemy Core.

Its reads are `StoreReads`' over the statements of ``_queries``, which `SqliteStore` runs too.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import partial
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from ketch.exceptions import NotFoundError

from . import _rows
from ._engine import WRITE_OPTION, create_store_engine, normalize_url
from ._errors import check_not_newer, upgrade_for_reader
from ._ids import create_with_run_id, storable_run_id
from ._migrations import LATEST_VERSION, current_version, migrate
from ._queries import statement
from ._reading import StoreReads
from ._records import (
    ArtifactRecord,
    AttemptRecord,
    ParameterRecord,
    RunRecord,
    RunStatus,
    TaskRecord,
)
from ._schema import artifacts as artifacts_t
from ._schema import attempts, flows, run_tags, runs, tasks
from ._schema import parameters as parameters_t
from ._sqlite import errors_reported, sqlite_file
from ._statements import delete_user_tag, insert_ignore, insert_step, upsert


class _BatchState(threading.local):
    conn: Connection | None = None  # the open batch's connection, in this thread


class SqlMetadataStore(StoreReads):
    """The `MetadataStore` on a SQL database.

    Parameters
    ----------
    url
        ``sqlite:///ABSOLUTE/PATH`` (see `ketch.metadata.sqlite_url`), ``sqlite://`` for a
        private in-memory database, or ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE``.
        The schema is created or migrated on open.
    read_only
        Open a SQLite file for reading only (see `ketch.metadata.open_store`).

    Examples
    --------
    >>> store = SqlMetadataStore("sqlite://")
    >>> run = store.create_run("HelloFlow", user="ada", tags=["x"], system_tags=[])
    >>> [r.run_id for r in store.list_runs("HelloFlow", tags=["x"])] == [run.run_id]
    True
    >>> store.close()
    """

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self.url = url
        path = sqlite_file(url)
        self.read_only = read_only and path is not None
        self._errors_reported: Callable[[], AbstractContextManager[None]] = (
            nullcontext if path is None else partial(errors_reported, path)
        )
        with self._errors_reported():
            self._engine = create_store_engine(normalize_url(url), read_only=read_only)
        self._dialect = self._engine.dialect.name
        self._pid = os.getpid()
        self._batch = _BatchState()
        self._statements: dict[str, Any] = {}
        try:
            with self._errors_reported():
                self._bring_schema_up_to_date()
        except BaseException:
            self._engine.dispose()
            raise

    def _bring_schema_up_to_date(self) -> None:
        if not self.read_only:
            migrate(self._engine)
            return
        version = current_version(self._engine)
        check_not_newer(version, LATEST_VERSION, self.url)
        if version < LATEST_VERSION:
            upgrade_for_reader(self.url, version, LATEST_VERSION)

    def __repr__(self) -> str:
        return f"SqlMetadataStore({self._engine.url.render_as_string(hide_password=True)!r})"

    def __enter__(self) -> SqlMetadataStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._engine.dispose()

    # -- connections and transactions -----------------------------------------------------------
    def _state(self) -> _BatchState:
        """This thread's batch state, reset in a forked child (never use the parent's pool)."""
        pid = os.getpid()
        if pid != self._pid:
            self._engine.dispose(close=False)
            self._batch = _BatchState()
            self._pid = pid
        return self._batch

    def _connect(self, *, write: bool) -> Connection:
        self._state()
        conn = self._engine.connect()
        if write:
            conn.execution_options(**{WRITE_OPTION: True})
        return conn

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        """The open batch's connection, or a new transaction that commits on exit."""
        shared = self._state().conn
        if shared is not None:
            yield shared
            return
        with self._errors_reported(), self._connect(write=write) as conn, conn.begin():
            yield conn

    def _reading(self) -> AbstractContextManager[Connection]:
        return self._transaction(write=False)

    def _fetch(self, conn: Any, name: str, params: dict[str, Any]) -> Sequence[Any]:
        """Run query ``name`` of ``_queries`` (its statement is built once per process)."""
        return conn.execute(statement(name), params).mappings().all()  # type: ignore[no-any-return]

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group writes into one transaction, committed when the outermost batch exits.

        An exception leaving a batch undoes every write made in it (a nested batch rolls back
        to where it began; the outer batch may go on). Reads inside a batch see its writes.
        """
        state = self._state()
        if state.conn is not None:
            with state.conn.begin_nested():
                yield
            return
        with self._errors_reported(), self._connect(write=True) as conn, conn.begin():
            state.conn = conn
            try:
                yield
            finally:
                state.conn = None

    def _statement(self, name: str, build: Callable[[], Any]) -> Any:
        """A write statement built once per store: building one costs more than running it."""
        stmt = self._statements.get(name)
        if stmt is None:
            stmt = self._statements[name] = build()
        return stmt

    def _upsert(self, conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
        """Insert rows, replacing the non-key columns of rows whose primary key exists."""
        if rows:
            conn.execute(self._statement(table.name, lambda: upsert(self._dialect, table)), rows)

    @staticmethod
    def _require_run(conn: Connection, run_id: int) -> None:
        if (
            not storable_run_id(run_id)
            or conn.scalar(select(runs.c.run_id).where(runs.c.run_id == run_id)) is None
        ):
            raise NotFoundError(f"run {run_id} does not exist in the metadata store")

    def _update_run(self, run_id: int, **values: Any) -> None:
        if not storable_run_id(run_id):
            raise NotFoundError(f"run {run_id} does not exist in the metadata store")
        with self._transaction(write=True) as conn:
            result = conn.execute(update(runs).where(runs.c.run_id == run_id).values(**values))
            if result.rowcount == 0:
                raise NotFoundError(f"run {run_id} does not exist in the metadata store")

    # -- writes ---------------------------------------------------------------------------------
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
        run_id: int | None = None,
        created_at: float | None = None,
    ) -> RunRecord:
        """Create the flow if needed and a new run in status ``running``; returns it.

        ``run_id`` defaults to :func:`new_run_id` (a microsecond timestamp, as in Metaflow);
        ``created_at`` to now.
        """
        now = time.time() if created_at is None else created_at

        def create(run_id: int) -> RunRecord:
            with self._transaction(write=True) as conn:
                conn.execute(
                    self._statement("flows", lambda: insert_ignore(self._dialect, flows)),
                    {"flow_name": flow_name, "created_at": now},
                )
                conn.execute(
                    insert(runs).values(
                        run_id=run_id,
                        flow_name=flow_name,
                        user_name=user,
                        status="running",
                        created_at=now,
                        origin_run_id=origin_run_id,
                        code_key=code_key,
                        scheduler_pid=scheduler_pid,
                        hostname=hostname,
                    )
                )
                # System tags first: a name given as both stays a (non-removable) system tag.
                for names, system in ((system_tags, True), (tags, False)):
                    self._insert_tags(conn, run_id, names, system=system)
                run = self._get_run(conn, run_id)
            assert run is not None
            return run

        return create_with_run_id(create, run_id, IntegrityError)

    def _insert_tags(
        self, conn: Connection, run_id: int, names: Iterable[str], *, system: bool
    ) -> None:
        rows = _rows.tag_rows(run_id, names, system=system)
        if rows:
            stmt = self._statement("run_tags", lambda: insert_ignore(self._dialect, run_tags))
            conn.execute(stmt, rows)

    def set_parameters(self, run_id: int, parameters: Sequence[ParameterRecord]) -> None:
        """Set the run's parameters (replacing any set before), kept in the given order."""
        rows = _rows.parameter_rows(run_id, parameters)
        with self._transaction(write=True) as conn:
            self._require_run(conn, run_id)
            conn.execute(delete(parameters_t).where(parameters_t.c.run_id == run_id))
            if rows:
                conn.execute(insert(parameters_t), rows)

    def set_code_key(self, run_id: int, code_key: str) -> None:
        self._update_run(run_id, code_key=code_key)

    def set_graph_key(self, run_id: int, graph_key: str) -> None:
        self._update_run(run_id, graph_key=graph_key)

    def heartbeat(self, run_id: int, at: float) -> None:
        self._update_run(run_id, heartbeat_at=at)

    def finish_run(self, run_id: int, status: RunStatus, finished_at: float) -> None:
        self._update_run(run_id, status=status, finished_at=finished_at)

    def upsert_task(self, task: TaskRecord) -> None:
        """Insert or replace the task (and its step row on first sight)."""
        with self._transaction(write=True) as conn:
            conn.execute(
                self._statement("steps", lambda: insert_step(self._dialect)),
                {"run_id": task.run_id, "step_name": task.step_name, "created_at": task.created_at},
            )
            self._upsert(conn, tasks, [_rows.task_to_row(task)])

    def upsert_attempt(self, attempt: AttemptRecord) -> None:
        with self._transaction(write=True) as conn:
            self._upsert(conn, attempts, [_rows.attempt_to_row(attempt)])

    def add_artifacts(
        self, run_id: int, task_id: int, attempt: int, artifacts: Sequence[ArtifactRecord]
    ) -> None:
        """Record artifacts of one attempt (a name written again replaces the earlier row)."""
        rows = [_rows.artifact_to_row(run_id, task_id, attempt, a) for a in artifacts]
        if rows:
            with self._transaction(write=True) as conn:
                self._upsert(conn, artifacts_t, rows)

    def add_tags(self, run_id: int, tags: Iterable[str]) -> None:
        """Add user tags (idempotent)."""
        with self._transaction(write=True) as conn:
            self._require_run(conn, run_id)
            self._insert_tags(conn, run_id, tags, system=False)

    def remove_tags(self, run_id: int, tags: Iterable[str]) -> None:
        """Remove user tags; system tags are never removed."""
        rows = [{"run_id": run_id, "tag": t} for t in sorted(set(tags))]
        with self._transaction(write=True) as conn:
            self._require_run(conn, run_id)
            if rows:
                conn.execute(self._statement("untag", delete_user_tag), rows)
