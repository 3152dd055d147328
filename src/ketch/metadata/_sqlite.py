"""SQLite connections on the standard library: the URL rule and the settings every ketch
connection uses (shared by SQLAlchemy's engine and by `SqliteStore`).

SQLite is tuned for several processes sharing one file: WAL (readers never wait for the
writer), a 30 s busy timeout, ``synchronous=NORMAL`` and foreign keys on. Python's own
transaction handling is switched off (``isolation_level = None``): write transactions begin
with ``BEGIN IMMEDIATE``, which takes the write lock up front and waits for it under the busy
timeout, instead of a deferred BEGIN that fails with "database is locked" when it later tries
to upgrade a read lock.
"""

from __future__ import annotations

import sqlite3
import time

from ketch.exceptions import DataIntegrityError

BUSY_TIMEOUT_S = 30.0


def is_damage(exc: BaseException) -> bool:
    """SQLite's "file is not a database" / "disk image is malformed" (not locks, constraints)."""
    return type(exc) is sqlite3.DatabaseError


def damaged_store_error(path: str, exc: BaseException) -> DataIntegrityError:
    return DataIntegrityError(
        f"{path} is not a readable SQLite database ({exc}).",
        headline="The metadata store is damaged",
        hint="Move the file aside and run again to start a new store (artifact values live in "
        "the blobs directory next to it), or restore it from a backup.",
    )


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
