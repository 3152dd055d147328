"""`SqliteStore`: the metadata store on a SQLite file, on the standard library's sqlite3.

Opening a store must not cost more than the work asked of it: a run's writer and a Client
listing would otherwise wait ~0.13 s for SQLAlchemy's import. Writes execute the statements that
``_sqlite_gen`` rendered from the SQLAlchemy schema and statement builders `SqlMetadataStore`
runs; a fresh database gets the same DDL, and an older schema is migrated by `SqlMetadataStore`
(SQLAlchemy is imported then only). Reads are plain SQL over the documented schema. The
contract suite (``tests/metadata``) runs against both stores.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ketch.exceptions import NotFoundError, StoreAccessError

from . import _rows
from . import _sqlite_sql as sql
from ._errors import check_not_newer, upgrade_for_reader
from ._ids import storable_number, storable_run_id, storable_task
from ._records import (
    ArtifactRecord,
    AttemptRecord,
    FlowRecord,
    ParameterRecord,
    RunRecord,
    RunStatus,
    RunSummary,
    StepRecord,
    TaskRecord,
    TaskSnapshot,
)
from ._sqlite import connect, errors_reported, make_parent, sqlite_file


def _latest(table: str) -> str:
    """Join condition: ``table``'s rows of each task's latest attempt."""
    return (
        f"{table}.run_id = tasks.run_id AND {table}.task_id = tasks.task_id"
        f" AND {table}.attempt = tasks.attempt"
    )


_TASKS_IN_ORDER = (
    "SELECT tasks.* FROM tasks LEFT OUTER JOIN steps"
    " ON steps.run_id = tasks.run_id AND steps.step_name = tasks.step_name"
    " WHERE {where} ORDER BY {first}steps.position, tasks.foreach_order, tasks.task_id"
)


class _Local(threading.local):
    conn: sqlite3.Connection | None = None
    depth = 0  # open batches in this thread


class SqliteStore:
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

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
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
            conn.executemany(
                "DELETE FROM run_tags WHERE run_id = ? AND tag = ? AND is_system = 0",
                [(run_id, name) for name in names],
            )

    # -- reads ----------------------------------------------------------------------------------
    def list_flows(self) -> list[FlowRecord]:
        with self._read() as conn:
            rows = conn.execute("SELECT flow_name, created_at FROM flows ORDER BY flow_name")
            return [FlowRecord(flow_name=r[0], created_at=r[1]) for r in rows]

    @staticmethod
    def _get_run(conn: sqlite3.Connection, run_id: int) -> RunRecord | None:
        row = conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        tags = conn.execute("SELECT tag, is_system FROM run_tags WHERE run_id = ?", (run_id,))
        return _rows.run_from_row(row, ((t, bool(s)) for t, s in tags))

    def get_run(self, run_id: int) -> RunRecord | None:
        if not storable_run_id(run_id):
            return None
        with self._read() as conn:
            return self._get_run(conn, run_id)

    @staticmethod
    def _runs_query(
        flow_name: str | None, tags: Iterable[str], limit: int | None
    ) -> tuple[str, list[Any]]:
        """``SELECT run_id FROM runs ...`` for the runs listed, newest first, and its params."""
        where: list[str] = []
        params: list[Any] = []
        if flow_name is not None:
            where.append("flow_name = ?")
            params.append(flow_name)
        wanted = sorted(set(tags))
        if wanted:
            where.append(
                "run_id IN (SELECT run_id FROM run_tags"
                f" WHERE tag IN ({', '.join('?' * len(wanted))})"
                " GROUP BY run_id HAVING count(*) = ?)"
            )
            params.extend([*wanted, len(wanted)])
        query = "SELECT run_id FROM runs"
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY run_id DESC"
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
        return query, params

    def _list_runs(self, conn: sqlite3.Connection, ids: str, params: list[Any]) -> list[RunRecord]:
        rows = conn.execute(
            f"SELECT * FROM runs WHERE run_id IN ({ids}) ORDER BY run_id DESC", params
        ).fetchall()
        if not rows:
            return []
        tags: dict[int, list[tuple[str, bool]]] = defaultdict(list)
        query = f"SELECT run_id, tag, is_system FROM run_tags WHERE run_id IN ({ids})"
        for run_id, tag, system in conn.execute(query, params):
            tags[int(run_id)].append((tag, bool(system)))
        return [_rows.run_from_row(r, tags.get(int(r["run_id"]), ())) for r in rows]

    def list_runs(
        self, flow_name: str | None = None, *, tags: Iterable[str] = (), limit: int | None = None
    ) -> list[RunRecord]:
        ids, params = self._runs_query(flow_name, tags, limit)
        with self._read() as conn:
            return self._list_runs(conn, ids, params)

    def list_run_summaries(
        self, flow_name: str | None = None, *, tags: Iterable[str] = (), limit: int | None = None
    ) -> list[RunSummary]:
        ids, params = self._runs_query(flow_name, tags, limit)
        counts: dict[int, dict[str, int]] = defaultdict(dict)
        with self._read() as conn:
            found = self._list_runs(conn, ids, params)
            query = (
                "SELECT run_id, status, count(*) FROM tasks"
                f" WHERE run_id IN ({ids}) GROUP BY run_id, status"
            )
            for run_id, status, n in conn.execute(query, params):
                counts[int(run_id)][status] = int(n)
        return [RunSummary(run=r, task_counts=counts.get(r.run_id, {})) for r in found]

    def get_parameters(self, run_id: int) -> list[ParameterRecord]:
        query = "SELECT * FROM parameters WHERE run_id = ? ORDER BY position, name"
        if not storable_run_id(run_id):
            return []
        with self._read() as conn:
            return [_rows.parameter_from_row(r) for r in conn.execute(query, (run_id,))]

    def list_steps(self, run_id: int) -> list[StepRecord]:
        query = "SELECT run_id, step_name, created_at FROM steps WHERE run_id = ? ORDER BY position"
        if not storable_run_id(run_id):
            return []
        with self._read() as conn:
            return [StepRecord(*r) for r in conn.execute(query, (run_id,))]

    def list_tasks(self, run_id: int, step_name: str | None = None) -> list[TaskRecord]:
        if not storable_run_id(run_id):
            return []
        where, params = "tasks.run_id = ?", list[Any]([run_id])
        if step_name is not None:
            where += " AND tasks.step_name = ?"
            params.append(step_name)
        query = _TASKS_IN_ORDER.format(where=where, first="")
        with self._read() as conn:
            return [_rows.task_from_row(r) for r in conn.execute(query, params)]

    def get_task(self, run_id: int, task_id: int) -> TaskRecord | None:
        query = "SELECT * FROM tasks WHERE run_id = ? AND task_id = ?"
        if not storable_task(run_id, task_id):
            return None
        with self._read() as conn:
            row = conn.execute(query, (run_id, task_id)).fetchone()
        return None if row is None else _rows.task_from_row(row)

    def list_attempts(self, run_id: int, task_id: int | None = None) -> list[AttemptRecord]:
        query, params = "SELECT * FROM attempts WHERE run_id = ?", list[Any]([run_id])
        if not storable_run_id(run_id) or (task_id is not None and not storable_number(task_id)):
            return []
        if task_id is not None:
            query += " AND task_id = ?"
            params.append(task_id)
        with self._read() as conn:
            rows = conn.execute(query + " ORDER BY task_id, attempt", params)
            return [_rows.attempt_from_row(r) for r in rows]

    def list_artifacts(
        self, run_id: int, task_id: int, attempt: int | None = None
    ) -> list[ArtifactRecord]:
        if not storable_task(run_id, task_id, attempt):
            return []
        with self._read() as conn:
            if attempt is None:
                row = conn.execute(
                    "SELECT attempt FROM tasks WHERE run_id = ? AND task_id = ?", (run_id, task_id)
                ).fetchone()
                if row is None:
                    return []
                attempt = int(row[0])
            rows = conn.execute(
                "SELECT * FROM artifacts WHERE run_id = ? AND task_id = ? AND attempt = ?"
                " ORDER BY name",
                (run_id, task_id, attempt),
            )
            return [_rows.artifact_from_row(r) for r in rows]

    def iter_run_artifacts(self, run_id: int) -> Iterator[tuple[int, ArtifactRecord]]:
        query = (
            f"SELECT artifacts.* FROM artifacts JOIN tasks ON {_latest('artifacts')}"
            " WHERE tasks.run_id = ? ORDER BY artifacts.task_id, artifacts.name"
        )
        if not storable_run_id(run_id):
            return iter([])
        with self._read() as conn:
            rows = conn.execute(query, (run_id,)).fetchall()
        return iter([(int(r["task_id"]), _rows.artifact_from_row(r)) for r in rows])

    def snapshot_step(
        self, run_ids: Sequence[int], step_name: str
    ) -> dict[int, list[TaskSnapshot]]:
        ids = sorted({i for i in run_ids if storable_run_id(i)})
        out: dict[int, list[TaskSnapshot]] = {}
        with self._read() as conn:
            for start in range(0, len(ids), _rows.RUN_ID_CHUNK):
                chunk = ids[start : start + _rows.RUN_ID_CHUNK]
                where = f"tasks.run_id IN ({', '.join('?' * len(chunk))}) AND tasks.step_name = ?"
                params = [*chunk, step_name]
                tasks = conn.execute(
                    f"SELECT * FROM tasks WHERE {where} ORDER BY run_id, task_id", params
                ).fetchall()
                attempts = conn.execute(
                    f"SELECT attempts.* FROM attempts JOIN tasks ON {_latest('attempts')}"
                    f" WHERE {where}",
                    params,
                ).fetchall()
                artifacts = conn.execute(
                    f"SELECT artifacts.* FROM artifacts JOIN tasks ON {_latest('artifacts')}"
                    f" WHERE {where} ORDER BY artifacts.name",
                    params,
                ).fetchall()
                out.update(_rows.snapshots(tasks, attempts, artifacts))
        return out
