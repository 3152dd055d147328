"""SQLAlchemy engines for the metadata store: URL rules and the SQLite settings.

SQLite is tuned for several processes sharing one file: WAL (readers never wait for the writer),
a 30 s busy timeout, ``synchronous=NORMAL`` and foreign keys on. pysqlite's own transaction
handling is switched off (``isolation_level = None``) so that SQLAlchemy's ``begin`` event can
emit the BEGIN itself: ``BEGIN IMMEDIATE`` for write transactions, which takes the write lock up
front and waits for it under the busy timeout, instead of a deferred BEGIN that fails with
"database is locked" when it later tries to upgrade a read lock.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from ketch.exceptions import UserError

from ._errors import StoreUrlError
from ._sqlite import BUSY_TIMEOUT_S, configure, make_parent, open_read_only

WRITE_OPTION = "ketch_write"  # execution option: this connection's transaction will write


def normalize_url(url: str) -> str:
    """Map user-facing URLs to SQLAlchemy ones: ``postgresql://`` uses psycopg 3."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise StoreUrlError(
            f"{url!r} is not a URL",
            hint="use sqlite:///ABSOLUTE/PATH (ketch.metadata.sqlite_url) or postgresql://...",
        )
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    if scheme in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        return url
    raise StoreUrlError(
        f"{scheme}:// is not a supported metadata store",
        hint="use sqlite:///ABSOLUTE/PATH or postgresql://USER@HOST:PORT/DATABASE",
    )


def is_memory_sqlite(url: str) -> bool:
    database = make_url(url).database
    return database in (None, "", ":memory:")


def create_store_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for ``url`` (already normalized), configured for concurrent use.

    ``read_only``: a SQLite file is opened for reading only (see `open_read_only`).
    """
    if url.startswith("sqlite"):
        return _sqlite_engine(url, read_only=read_only)
    if importlib.util.find_spec("psycopg") is None:
        raise UserError(
            "PostgreSQL metadata stores need the psycopg 3 driver, which is not installed.",
            headline="Missing optional dependency",
            hint="pip install 'ketch[postgres]'",
        )
    return create_engine(url, pool_pre_ping=True)


def _sqlite_engine(url: str, *, read_only: bool) -> Engine:
    memory = is_memory_sqlite(url)
    read_only = read_only and not memory
    if memory:
        # One connection shared by every caller, or each would see its own empty database.
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        database = make_url(url).database
        assert database is not None
        if read_only:
            engine = create_engine(url, creator=lambda: open_read_only(database))
        else:
            make_parent(database)
            engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # SQLAlchemy emits BEGIN (below)
        configure(dbapi_connection, memory=memory, read_only=read_only)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
