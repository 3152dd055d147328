"""SQLite on the standard library alone: connection settings and the run's record writer.

A run's metadata writer only inserts and updates rows, so on a SQLite file it does not need
SQLAlchemy, whose import (~0.13 s of CPU) would otherwise be the largest fixed cost of a short
run. `SqliteRecordWriter` executes the statements that ``_sqlite_gen`` rendered from the same
SQLAlchemy schema and statement builders that `SqlMetadataStore` runs, and creates a fresh
database with the same DDL; a database at an older schema version is migrated by
`SqlMetadataStore` first.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ketch.exceptions import NotFoundError

from . import _rows
from . import _sqlite_sql as sql
from ._errors import check_not_newer
from ._records import ArtifactRecord, AttemptRecord, ParameterRecord, RunStatus, TaskRecord

BUSY_TIMEOUT_S = 30.0


def sqlite_file(url: str) -> str | None:
    """The database path of a ``sqlite:///PATH`` URL; None for in-memory or non-SQLite URLs."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("sqlite", "sqlite+pysqlite"):
        return None
    path = rest[1:] if rest.startswith("/") else rest
    path = path.split("?", 1)[0]
    return None if path in ("", ":memory:") else path


def configure(conn: sqlite3.Connection, *, memory: bool) -> None:
    """The settings of every ketch connection: several processes share one file."""
    conn.isolation_level = None  # transactions are begun explicitly
    cursor = conn.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        if not memory:
            _enable_wal(cursor)
    finally:
        cursor.close()


def _enable_wal(cursor: sqlite3.Cursor) -> None:
    """Switch the file to WAL once (the mode persists in the file).

    Changing the journal mode needs an exclusive lock; when several processes open a fresh file
    at once, one of them may see SQLITE_BUSY here, so retry for up to the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class SqliteRecordWriter:
    """The write methods of `MetadataStore` that a run uses, on a SQLite file.

    Examples
    --------
    >>> import tempfile, os
    >>> from ketch.metadata import open_store, sqlite_url
    >>> url = sqlite_url(os.path.join(tempfile.mkdtemp(), "ketch.db"))
    >>> writer = SqliteRecordWriter(url)
    >>> writer.create_run("HelloFlow", user="ada", tags=[], system_tags=[], run_id=7)
    >>> writer.close()
    >>> with open_store(url) as store:
    ...     store.get_run(7).status
    'running'
    """

    def __init__(self, url: str) -> None:
        path = sqlite_file(url)
        if path is None:
            raise ValueError(f"{url!r} is not the URL of a SQLite file")
        self.url = url
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
        self._depth = 0
        try:
            configure(self._conn, memory=False)
            self._ensure_schema()
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> SqliteRecordWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------------------
    def _version(self) -> int:
        found = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ketch_schema_version'"
        ).fetchone()
        if found is None:
            return 0
        row = self._conn.execute("SELECT version FROM ketch_schema_version").fetchone()
        return 0 if row is None else int(row[0])

    def _ensure_schema(self) -> None:
        version = self._version()
        check_not_newer(version, sql.SCHEMA_VERSION, self.url)
        if version == sql.SCHEMA_VERSION:
            return
        if version > 0:  # an older schema: SQLAlchemy's migrations bring it up to date
            from ._sql import SqlMetadataStore

            SqlMetadataStore(self.url).close()
            return
        with self.batch():  # BEGIN IMMEDIATE: another process may be creating it right now
            version = self._version()
            if version == 0:
                for statement in sql.CREATE_SCHEMA:
                    self._conn.execute(statement)
                self._conn.execute(sql.INSERT_VERSION, {"version": sql.SCHEMA_VERSION})
        check_not_newer(version, sql.SCHEMA_VERSION, self.url)

    # -- transactions ---------------------------------------------------------------------------
    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for everything inside (nested batches are savepoints)."""
        depth = self._depth
        begin, commit = (
            ("BEGIN IMMEDIATE", "COMMIT")
            if depth == 0
            else (f"SAVEPOINT b{depth}", f"RELEASE b{depth}")
        )
        self._conn.execute(begin)
        self._depth += 1
        try:
            yield
        except BaseException:
            if depth == 0:
                self._conn.execute("ROLLBACK")
            else:
                self._conn.execute(f"ROLLBACK TO b{depth}")
                self._conn.execute(f"RELEASE b{depth}")
            raise
        else:
            self._conn.execute(commit)
        finally:
            self._depth = depth

    @contextmanager
    def _write(self) -> Iterator[None]:
        """Join the open batch, or make a transaction of its own."""
        if self._depth:
            yield
            return
        with self.batch():
            yield

    def _update_run(self, statement: str, run_id: int, **values: Any) -> None:
        with self._write():
            if self._conn.execute(statement, {"run_id": run_id, **values}).rowcount == 0:
                raise NotFoundError(f"run {run_id} does not exist in the metadata store")

    # -- writes (see `MetadataStore` for what each one means) -------------------------------------
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
    ) -> None:
        from ._ids import new_run_id

        now = time.time() if created_at is None else created_at
        run = {
            "run_id": new_run_id() if run_id is None else run_id,
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
        with self._write():
            self._conn.execute(sql.INSERT_FLOW, {"flow_name": flow_name, "created_at": now})
            self._conn.execute(sql.INSERT_RUN, run)
            # System tags first: a name given as both stays a (non-removable) system tag.
            for names, system in ((system_tags, True), (tags, False)):
                rows = [
                    {"run_id": run["run_id"], "tag": t, "is_system": system}
                    for t in sorted(set(names))
                ]
                self._conn.executemany(sql.INSERT_TAG, rows)

    def set_parameters(self, run_id: int, parameters: Sequence[ParameterRecord]) -> None:
        rows = [
            {
                "run_id": run_id,
                "name": p.name,
                "position": i,
                "value_json": p.value_json,
                "blob_key": p.key,
            }
            for i, p in enumerate(parameters)
        ]
        with self._write():
            if self._conn.execute(sql.RUN_EXISTS, {"run_id": run_id}).fetchone() is None:
                raise NotFoundError(f"run {run_id} does not exist in the metadata store")
            self._conn.execute(sql.DELETE_PARAMETERS, {"run_id": run_id})
            self._conn.executemany(sql.INSERT_PARAMETER, rows)

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
        with self._write():
            self._conn.execute(sql.INSERT_STEP, step)
            self._conn.execute(sql.UPSERT_TASK, _rows.task_to_row(task))

    def upsert_attempt(self, attempt: AttemptRecord) -> None:
        with self._write():
            self._conn.execute(sql.UPSERT_ATTEMPT, _rows.attempt_to_row(attempt))

    def add_artifacts(
        self, run_id: int, task_id: int, attempt: int, artifacts: Sequence[ArtifactRecord]
    ) -> None:
        rows = [_rows.artifact_to_row(run_id, task_id, attempt, a) for a in artifacts]
        with self._write():
            self._conn.executemany(sql.UPSERT_ARTIFACT, rows)
