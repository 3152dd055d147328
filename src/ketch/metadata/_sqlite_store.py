"""`SqliteStore`: the metadata store on a SQLite file, on the standard library's sqlite3.

Opening a store must not cost more than the work asked of it: a run's writer and a Client
listing would otherwise wait ~0.13 s for SQLAlchemy's import. It runs the same write statements
(``_statements``) and read queries (``_queries``) as `SqlMetadataStore`, written once in
SQLAlchemy Core and compiled ahead of time into SQLite's SQL by ``_sqlite_gen``; the methods
that run them are `StoreWrites`' and `StoreReads'`, shared with `SqlMetadataStore`. A fresh
database gets the same DDL; an older schema is migrated by `SqlMetadataStore` (SQLAlchemy is
imported then only). The contract suite (``tests/metadata``) runs against both stores.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from ketch.exceptions import StoreAccessError

from . import _sqlite_sql as sql
from ._errors import check_not_newer, upgrade_for_reader
from ._sqlite import connect, errors_reported, make_parent, sqlite_file
from ._writing import StoreWrites

# Queries with an expanding IN (a list parameter), whose SQL `_expanded` completes per call.
_EXPANDING = frozenset(name for name, text in sql.READS.items() if "__[POSTCOMPILE_" in text)


class _Local(threading.local):
    conn: sqlite3.Connection | None = None
    depth = 0  # open batches in this thread


class SqliteStore(StoreWrites):
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

    _integrity_error = sqlite3.IntegrityError

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

    # -- statements (see `StoreReads`, `StoreWrites`) ----------------------------------------
    def _writing(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._write()

    def _execute(
        self, conn: sqlite3.Connection, name: str, params: dict[str, Any] | list[dict[str, Any]]
    ) -> int:
        """Run write statement ``name`` in the SQL ``_sqlite_gen`` compiled from ``_statements``."""
        if type(params) is list:
            return conn.executemany(sql.WRITES[name], params).rowcount if params else 0
        return conn.execute(sql.WRITES[name], params).rowcount

    def _fetch(self, conn: Any, name: str, params: dict[str, Any]) -> list[Any]:
        """Run query ``name`` in the SQL ``_sqlite_gen`` compiled from ``_queries``."""
        text = sql.READS[name]
        if name in _EXPANDING:
            text, params = _expanded(text, params)
        return conn.execute(text, params).fetchall()  # type: ignore[no-any-return]


def _expanded(text: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``text`` and ``params`` with each list parameter spread into one parameter per value,
    in place of SQLAlchemy's ``__[POSTCOMPILE_name]`` marker (an expanding ``IN``)."""
    lists = tuple((k, len(v)) for k, v in params.items() if type(v) is list)
    spread, names = _spread(text, lists)
    out = {k: v for k, v in params.items() if type(v) is not list}
    for key, keys in names:
        out.update(zip(keys, params[key], strict=True))
    return spread, out


@functools.lru_cache(maxsize=256)
def _spread(
    text: str, lists: tuple[tuple[str, int], ...]
) -> tuple[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    """`_expanded`'s SQL for lists of these lengths, and each list's parameter names: made once
    (a listing asks for the same lengths again and again)."""
    names = []
    for key, n in lists:
        keys = tuple(f"{key}__{i}" for i in range(n))
        text = text.replace(f"__[POSTCOMPILE_{key}]", ", ".join(f":{k}" for k in keys) or "NULL")
        names.append((key, keys))
    return text, tuple(names)
