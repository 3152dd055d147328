"""SQLite connections on the standard library: the URL rule, how a connection is opened (for
writing, or for reading only), the settings every ketch connection uses (shared by SQLAlchemy's
engine and by `SqliteStore`), and SQLite's errors as ketch's.

SQLite is tuned for several processes sharing one file: WAL (readers never wait for the
writer), a 30 s busy timeout, ``synchronous=NORMAL`` and foreign keys on. Python's own
transaction handling is switched off (``isolation_level = None``): write transactions begin
with ``BEGIN IMMEDIATE``, which takes the write lock up front and waits for it under the busy
timeout, instead of a deferred BEGIN that fails with "database is locked" when it later tries
to upgrade a read lock.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ketch.exceptions import (
    StoreAccessError,
    StoreDamagedError,
    StoreFullError,
    StoreNotFoundError,
)

BUSY_TIMEOUT_S = 30.0
# SQLite's own text for each result code we act on (sqlite3_errstr), for Python 3.10, whose
# sqlite3 errors carry no ``sqlite_errorname`` (3.11+).
_ERROR_TEXTS = {
    "database or disk is full": "SQLITE_FULL",
    "unable to open database file": "SQLITE_CANTOPEN",
    "disk I/O error": "SQLITE_IOERR",
    "attempt to write a readonly database": "SQLITE_READONLY",
}


def error_name(exc: sqlite3.Error) -> str:
    """SQLite's result code name for ``exc`` ("SQLITE_CANTOPEN", ...), or "" when unknown."""
    name = getattr(exc, "sqlite_errorname", None)
    if name is not None:
        return str(name)
    text = str(exc)
    return next((code for prefix, code in _ERROR_TEXTS.items() if text.startswith(prefix)), "")


def is_damage(exc: BaseException) -> bool:
    """SQLite's "file is not a database" / "disk image is malformed" (not locks, constraints)."""
    return type(exc) is sqlite3.DatabaseError


def damaged_store_error(path: str, exc: BaseException) -> StoreDamagedError:
    return StoreDamagedError(
        f"{path} is not a readable SQLite database ({exc}).",
        path=path,
        hint=f"Save what SQLite can still read with: sqlite3 {path} .recover | sqlite3 "
        f"{path}.recovered; then move {path} aside (with its -wal and -shm files) and put "
        f"{path}.recovered in its place. Or move it aside to start a new store (artifact values "
        "stay in the blobs next to it), or restore it from a backup.",
    )


def full_disk_error(path: str) -> StoreFullError:
    return StoreFullError(
        f"No space left on device for the ketch store's run database {path}.",
        hint="Free space on that disk, or set KETCH_HOME to a store on another disk.",
    )


def store_error(path: str, exc: sqlite3.Error) -> Exception | None:
    """The ketch error for what SQLite raised on ``path``: damage, a full disk, a place that
    cannot be written; None for the others (locks, constraints: bugs or retries)."""
    if is_damage(exc):
        return damaged_store_error(path, exc)
    if error_name(exc) == "SQLITE_FULL" or _disk_full_at(path, exc):
        return full_disk_error(path)
    if error_name(exc).startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")):
        return StoreAccessError(
            f"The run database {path} cannot be written: {exc}.",
            hint="Run from a directory you can write to, or set KETCH_HOME to a writable store; "
            "commands that only read (ketch runs, dump, logs, the Client) work on a "
            "read-only store.",
        )
    return None


@contextmanager
def errors_reported(path: str) -> Iterator[None]:
    """Raise ketch's error (see `store_error`) for what SQLite raises on ``path`` inside, on
    ``sqlite3`` or through SQLAlchemy (whose errors keep SQLite's as ``orig``)."""
    try:
        yield
    except Exception as exc:
        orig = exc if isinstance(exc, sqlite3.Error) else getattr(exc, "orig", None)
        error = store_error(path, orig) if isinstance(orig, sqlite3.Error) else None
        if error is None:  # locked, constraint, not SQLite's, ...
            raise
        raise error from None


def _disk_full_at(path: str, exc: sqlite3.Error) -> bool:
    """A "disk I/O error" that SQLite met when it could not grow a file beside ``path``."""
    if not error_name(exc).startswith("SQLITE_IOERR"):
        return False
    try:
        stats = os.statvfs(os.path.dirname(path) or ".")
    except OSError:
        return False
    return stats.f_bavail == 0 or stats.f_bfree == 0


def make_parent(path: str) -> None:
    """Make the directory of the database file ``path``, or say clearly why it cannot be."""
    parent = os.path.dirname(path) or "."
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as exc:
        raise StoreAccessError(
            f"Cannot create directory {parent} for the run database: {exc.strerror}.",
            hint="Set KETCH_HOME (or KETCH_METADATA_URL) to a place that can be written.",
        ) from None


def sqlite_file(url: str) -> str | None:
    """The database path of a ``sqlite:///PATH`` URL; None for in-memory or non-SQLite URLs."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("sqlite", "sqlite+pysqlite"):
        return None
    path = rest[1:] if rest.startswith("/") else rest
    path = path.split("?", 1)[0]
    return None if path in ("", ":memory:") else path


def connect(path: str, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection to the database file ``path``, configured (see `configure`).

    ``read_only`` opens it without writing anything, not even beside it where that can be
    avoided (see `open_read_only`); it never creates the file.
    """
    if read_only:
        conn = open_read_only(path)
    else:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    try:
        configure(conn, memory=False, read_only=read_only)
    except BaseException:
        conn.close()
        raise
    return conn


def open_read_only(path: str) -> sqlite3.Connection:
    """Open ``path`` for reading only (``mode=ro``), or, where that cannot work, immutable.

    A WAL database is read together with its ``-shm`` index, which a reader must find beside
    the file or create there. In a read-only directory without one, or on a full disk, it
    cannot, and ``mode=ro`` fails. Then, if the ``-wal`` file is absent or empty, every
    committed transaction is in the database file itself, and the file is opened
    ``immutable=1``: read without locks, without the WAL and without the ``-shm``. That is
    safe while nothing writes the file, which is so here: no process can write through a
    read-only directory, or grow a file on a full disk, and a writer that can (through another
    mount of the directory) keeps a ``-wal`` and a ``-shm`` beside the file while it is open,
    so ``mode=ro`` works and no fallback is taken. (A writer that starts in the milliseconds
    between our check and our read, elsewhere, could checkpoint under us; a read then fails
    as damaged or sees an older state, and a second read is right.)

    A ``-wal`` with content holds commits the file lacks (its last writer crashed or is
    still writing elsewhere): reading without it would show an old or torn state, so that
    is refused with a clear error instead.
    """
    if not os.path.isfile(path):
        raise StoreNotFoundError(f"There is no run database at {path}.")
    uri = Path(path).absolute().as_uri()
    conn = sqlite3.connect(
        f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False
    )
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the WAL index
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()
        if not error_name(exc).startswith(("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_READONLY")):
            raise
        if _wal_size(path) > 0:
            raise StoreAccessError(
                f"The run database {path} cannot be read here ({exc}): its last changes are "
                f"still in {path}-wal, and folding them in needs write access to "
                f"{os.path.dirname(path)} and free space on its disk.",
                hint="Run any ketch command once where the store can be written (or free "
                "space on the disk), then read it again.",
            ) from None
    return sqlite3.connect(
        f"{uri}?immutable=1", uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False
    )


def _wal_size(path: str) -> int:
    try:
        return os.stat(f"{path}-wal").st_size
    except FileNotFoundError:
        return 0


def configure(conn: sqlite3.Connection, *, memory: bool, read_only: bool = False) -> None:
    """The settings of every ketch connection: several processes share one file.

    A read-only connection changes nothing that persists (``synchronous`` and the journal
    mode are the writer's business; setting them writes to a read-only file).
    """
    conn.isolation_level = None  # transactions are begun explicitly
    cursor = conn.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if read_only:
            return
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
