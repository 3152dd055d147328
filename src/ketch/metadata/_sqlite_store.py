"""`SqliteStore`: the metadata store on a SQLite file, on the standard library's sqlite3.

Opening a store must not cost more than the work asked of it: a run's writer and a Client
listing would otherwise wait ~0.13 s for SQLAlchemy's import. Writes execute the statements that
``_sqlite_gen`` rendered from the SQLAlchemy schema and statement builders `SqlMetadataStore`
runs; a fresh database gets the same DDL, and an older schema is migrated by `SqlMetadataStore`
(SQLAlchemy is imported then only). Reads run the queries of ``_queries`` (written once, in
SQLAlchemy Core), compiled ahead of time the same way; `StoreReads` turns their rows into
records for both stores. The contract suite (``tests/metadata``) runs against both stores.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ketch.exceptions import NotFoundError, StoreAccessError

from . import _rows
from . import _sqlite_sql as sql
from ._errors import check_not_newer, upgrade_for_reader
from ._ids import storable_run_id
from ._reading import StoreReads
from ._records import (
    ArtifactRecord,
    AttemptRecord,
    ParameterRecord,
    RunRecord,
    RunStatus,
    TaskRecord,
)
from ._sqlite import connect, errors_reported, make_parent, sqlite_file


class _Local(threading.local):
    conn: sqlite3.Connection | None = None
    depth = 0  # open batches in this thread


class SqliteStore(StoreReads):
    """The `MetadataStore` on a SQLite file (``sqlite:///ABSOLUTE/PATH``).

    Each thread gets its own connection; a forked child opens its own. ``read_only`` opens
    the file for reading only (see `connect`), for readers that must work on a read-only or
    full disk; writing through such a store raises `StoreAccessError`.

    Examples
    --------
    >>> import tempfile, os
    >>> from ketch.metadata import sqlite_url
    >>> store = SqliteStore(sqlite_url(os.path.join(tempfile.mkdtemp(), "ketch.db")))
    >>> run = store.create_run("HelloFlow", user="ada", tags=["x"], system_tags=[])
    >>> [r.run_id for r in store.list_runs("HelloFlow", tags=["x"])] == [run.run_id]
    True
    >>> store.close()
    """

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        path = sqlite_file(url)
        if path is None:
            raise ValueError(f"{url!r} is not the URL of a SQLite file")
        self.url = url
        self.read_only = read_only
        self._path = path
        if not read_only:
            make_parent(path)
        self._local = _Local()
        self._pid = os.getpid()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            self._ensure_schema()
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"SqliteStore({self.url!r})"

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        if os.getpid() == self._pid:  # never close a parent's connections from a child
            for conn in opened:
                conn.close()
        self._local = _Local()

    # -- connections and transactions -----------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        if os.getpid() != self._pid:  # a forked child: the parent's connections are not ours
            self._pid = os.getpid()
            self._local = _Local()
            self._opened = []
        conn = self._local.conn
        if conn is None:
            with self._errors_reported():
                conn = connect(self._path, read_only=self.read_only)
            conn.row_factory = sqlite3.Row
            with self._lock:
                self._opened.append(conn)
            self._local.conn = conn
        return conn

    def _errors_reported(self) -> contextlib.AbstractContextManager[None]:
        """Turn SQLite's errors for a damaged file, a full disk or a file that cannot be
        written into ketch's, which say what to do (see `store_error`)."""
        return errors_reported(self._path)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group writes into one transaction, committed when the outermost batch exits.

        An exception leaving a batch undoes every write made in it (a nested batch rolls back
        to where it began; the outer batch may go on). Reads inside a batch see its writes.
        """
        if self.read_only:
            raise StoreAccessError(
                f"{self._path} was opened for reading only.",
                hint="Open it with ketch.metadata.open_store(url) to write.",
            )
        conn, local = self._conn(), self._local
        depth = local.depth
        name = f"b{depth}"
        with self._errors_reported():
            conn.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT {name}")
        local.depth = depth + 1
        try:
            with self._errors_reported():
                yield
        except BaseException:
            # SQLite may have ended the transaction itself (a full disk, say); the error that
            # got us here is the one to report, not a failed rollback.
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction and depth == 0:
                    conn.execute("ROLLBACK")
                elif conn.in_transaction:
                    conn.execute(f"ROLLBACK TO {name}")
                    conn.execute(f"RELEASE {name}")
            raise
        else:
            if depth:
                conn.execute(f"RELEASE {name}")
            else:
                try:
                    with self._errors_reported():  # a full disk shows here, when WAL grows
                        conn.execute("COMMIT")
                except BaseException:  # a deferred foreign key failed: the transaction is open
                    with contextlib.suppress(sqlite3.Error):
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                    raise
        finally:
            local.depth = depth

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """The open batch's connection, or a transaction of its own."""
        conn = self._conn()
        if self._local.depth:
            yield conn
            return
        with self.batch():
            yield conn

    def _fetch(self, conn: Any, name: str, params: dict[str, Any]) -> list[Any]:
        """Run query ``name`` in the SQL ``_sqlite_gen`` compiled from ``_queries``."""
        text = sql.READS[name]
        if any(type(v) is list for v in params.values()):
            text, params = _expanded(text, params)
        return conn.execute(text, params).fetchall()  # type: ignore[no-any-return]

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """One snapshot for the queries of one read (WAL readers never wait for writers)."""
        conn = self._conn()
        if self._local.depth:
            yield conn
            return
        with self._errors_reported():
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    # -- schema ---------------------------------------------------------------------------------
    def _version(self, conn: sqlite3.Connection) -> int:
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ketch_schema_version'"
        ).fetchone()
        if found is None:
            return 0
        row = conn.execute("SELECT version FROM ketch_schema_version").fetchone()
        return 0 if row is None else int(row[0])

    def _ensure_schema(self) -> None:
        with self._errors_reported():
            version = self._version(self._conn())
        check_not_newer(version, sql.SCHEMA_VERSION, self.url)
        if version == sql.SCHEMA_VERSION:
            return
        if self.read_only:
            upgrade_for_reader(self.url, version, sql.SCHEMA_VERSION)
            return
        if version > 0:  # an older schema: SQLAlchemy's migrations bring it up to date
            from ._sql import SqlMetadataStore

            SqlMetadataStore(self.url).close()
            return
        with self._write() as conn:  # BEGIN IMMEDIATE: another process may be creating it now
            version = self._version(conn)
            if version == 0:
                for statement in sql.CREATE_SCHEMA:
                    conn.execute(statement)
                conn.execute(sql.INSERT_VERSION, {"version": sql.SCHEMA_VERSION})
        check_not_newer(version, sql.SCHEMA_VERSION, self.url)

    # -- writes (see `MetadataStore`) -----------------------------------------------------------
    @staticmethod
    def _require_run(conn: sqlite3.Connection, run_id: int) -> None:
        if (
            not storable_run_id(run_id)
            or conn.execute(sql.RUN_EXISTS, {"run_id": run_id}).fetchone() is None
        ):
            raise NotFoundError(f"run {run_id} does not exist in the metadata store")

    def _update_run(self, statement: str, run_id: int, **values: Any) -> None:
        if not storable_run_id(run_id):
            raise NotFoundError(f"run {run_id} does not exist in the metadata store")
        with self._write() as conn:
            if conn.execute(statement, {"run_id": run_id, **values}).rowcount == 0:
                raise NotFoundError(f"run {run_id} does not exist in the metadata store")

    @staticmethod
    def _insert_tags(
        conn: sqlite3.Connection, run_id: int, names: Iterable[str], *, system: bool
    ) -> None:
        rows = _rows.tag_rows(run_id, names, system=system)
        conn.executemany(sql.INSERT_TAG, rows)

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
        from ._ids import create_with_run_id

        now = time.time() if created_at is None else created_at

        def create(run_id: int) -> RunRecord:
            run = {
                "run_id": run_id,
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
            }
            with self._write() as conn:
                conn.execute(sql.INSERT_FLOW, {"flow_name": flow_name, "created_at": now})
                conn.execute(sql.INSERT_RUN, run)
                # System tags first: a name given as both stays a (non-removable) system tag.
                self._insert_tags(conn, run_id, system_tags, system=True)
                self._insert_tags(conn, run_id, tags, system=False)
                record = self._get_run(conn, run_id)
            assert record is not None
            return record

        return create_with_run_id(create, run_id, sqlite3.IntegrityError)

    def set_parameters(self, run_id: int, parameters: Sequence[ParameterRecord]) -> None:
        rows = _rows.parameter_rows(run_id, parameters)
        with self._write() as conn:
            self._require_run(conn, run_id)
            conn.execute(sql.DELETE_PARAMETERS, {"run_id": run_id})
            conn.executemany(sql.INSERT_PARAMETER, rows)

    def set_code_key(self, run_id: int, code_key: str) -> None:
        self._update_run(sql.SET_CODE_KEY, run_id, code_key=code_key)

    def set_graph_key(self, run_id: int, graph_key: str) -> None:
        self._update_run(sql.SET_GRAPH_KEY, run_id, graph_key=graph_key)

    def heartbeat(self, run_id: int, at: float) -> None:
        self._update_run(sql.SET_HEARTBEAT, run_id, heartbeat_at=at)

    def finish_run(self, run_id: int, status: RunStatus, finished_at: float) -> None:
        self._update_run(sql.FINISH_RUN, run_id, status=status, finished_at=finished_at)

    def upsert_task(self, task: TaskRecord) -> None:
        step = {"run_id": task.run_id, "step_name": task.step_name, "created_at": task.created_at}
        with self._write() as conn:
            conn.execute(sql.INSERT_STEP, step)
            conn.execute(sql.UPSERT_TASK, _rows.task_to_row(task))

    def upsert_attempt(self, attempt: AttemptRecord) -> None:
        with self._write() as conn:
            conn.execute(sql.UPSERT_ATTEMPT, _rows.attempt_to_row(attempt))

    def add_artifacts(
        self, run_id: int, task_id: int, attempt: int, artifacts: Sequence[ArtifactRecord]
    ) -> None:
        rows = [_rows.artifact_to_row(run_id, task_id, attempt, a) for a in artifacts]
        if rows:
            with self._write() as conn:
                conn.executemany(sql.UPSERT_ARTIFACT, rows)

    def add_tags(self, run_id: int, tags: Iterable[str]) -> None:
        with self._write() as conn:
            self._require_run(conn, run_id)
            self._insert_tags(conn, run_id, tags, system=False)

    def remove_tags(self, run_id: int, tags: Iterable[str]) -> None:
        names = sorted(set(tags))
        with self._write() as conn:
            self._require_run(conn, run_id)
            conn.executemany(sql.DELETE_USER_TAG, [{"run_id": run_id, "tag": t} for t in names])


def _expanded(text: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``text`` and ``params`` with each list parameter spread into one parameter per value,
    in place of SQLAlchemy's ``__[POSTCOMPILE_name]`` marker (an expanding ``IN``)."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if type(value) is not list:
            out[key] = value
            continue
        names = [f"{key}__{i}" for i in range(len(value))]
        text = text.replace(f"__[POSTCOMPILE_{key}]", ", ".join(f":{n}" for n in names) or "NULL")
        out.update(zip(names, value, strict=True))
    return text, out
