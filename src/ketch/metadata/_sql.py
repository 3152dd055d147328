"""`SqlMetadataStore`: the metadata store on SQLite or PostgreSQL, with SQLAlchemy Core.

Its reads and writes are `StoreWrites`' (and `StoreReads`') over the statements of ``_queries``
and ``_statements``, which `SqliteStore` runs too, compiled for SQLite ahead of time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import partial
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from ._engine import WRITE_OPTION, create_store_engine, normalize_url
from ._errors import check_not_newer, upgrade_for_reader
from ._migrations import LATEST_VERSION, current_version, migrate
from ._queries import statement
from ._sqlite import errors_reported, sqlite_file
from ._statements import WRITES
from ._writing import StoreWrites


class _BatchState(threading.local):
    conn: Connection | None = None  # the open batch's connection, in this thread


class SqlMetadataStore(StoreWrites):
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

    _integrity_error = IntegrityError

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

    def _writing(self) -> AbstractContextManager[Connection]:
        return self._transaction(write=True)

    def _execute(
        self, conn: Connection, name: str, params: dict[str, Any] | list[dict[str, Any]]
    ) -> int:
        """Run write statement ``name`` of ``_statements`` (built once per store)."""
        if type(params) is list and not params:
            return 0
        stmt = self._statement(name, lambda: WRITES[name](self._dialect))
        return int(conn.execute(stmt, params).rowcount)

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
