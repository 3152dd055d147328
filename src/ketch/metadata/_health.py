"""Before a run starts: can the run database take its records, and is it damaged?

A run records its tasks as they finish; a database that cannot be written (a full disk, a
read-only place) or that has a damaged page fails those writes, and before these checks the
run found out only at its end, after every task had run. `preflight` makes it fail first.

What the health check costs. ``PRAGMA quick_check`` reads and checks every page of the file,
so its cost grows with the store. Measured on this project's 2-core machine on a store of
10,000 tasks (100 runs of 100 tasks, 60,000 artifact rows; a 16.5 MB file):

========================  ========================================
``PRAGMA quick_check``    21 ms with the file in the page cache, 206 ms from a cold cache
``PRAGMA integrity_check``  73 ms in the page cache
the edges check (below)   1 ms, whatever the size
========================  ========================================

A short run takes a few hundred milliseconds in all, so a check that costs 21-206 ms at 10,000
tasks (and ten times that at 100,000) is too much to pay on every run. Every run does the
edges check instead: it reads the first and the last entry of every table and index, which
loads the schema, the root page of every b-tree and the pages on its left and right edges. That
is where a run writes most: new runs, tasks, attempts and artifacts get increasing row ids and
run ids, so they go to the right edge of their tables and of the indexes led by the run id.
A damaged page there, the header or the schema fail the run before it starts. The full
``quick_check`` runs at most once every `FULL_CHECK_EVERY_S` (a day; the time of the last one
that passed is the time of the ``<db>-checked`` file beside the database), so damage in the
middle of a large store (a page of the blob-key index, say) stops runs within a day.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from ._sqlite import connect, damaged_store_error, errors_reported, sqlite_file

FULL_CHECK_EVERY_S = 24 * 3600
CHECKED_SUFFIX = "-checked"


def preflight(url: str, *, now: float | None = None) -> None:
    """Check, before a run starts, that the run database at ``url`` can be written (its
    directory, and the free space on its disk) and is not damaged. Only SQLite files are
    checked: a database server keeps its own health and disks.

    Raises
    ------
    ketch.exceptions.StoreFullError, ketch.exceptions.StoreAccessError
        The database's directory cannot be written, or its disk is (nearly) full.
    ketch.exceptions.StoreDamagedError
        The database is damaged; the message names the file and how to recover it.
    """
    path = sqlite_file(url)
    if path is None:
        return
    from ..datastore import check_writable  # the same probe as the blobs' directory

    check_writable(Path(path).parent, what="the run database's directory")
    if not os.path.exists(path):
        return  # the run creates it
    now = time.time() if now is None else now
    stamp = Path(path + CHECKED_SUFFIX)
    try:
        full = now - stamp.stat().st_mtime >= FULL_CHECK_EVERY_S
    except FileNotFoundError:
        full = True
    check_health(path, full=full)
    if full:
        stamp.touch()
        os.utime(stamp, (now, now))


def check_health(path: str, *, full: bool = True) -> None:
    """Raise `StoreDamagedError` if the SQLite file ``path`` is damaged: with ``full``, as
    ``PRAGMA quick_check`` finds (every page); else as the edges check finds (see the module)."""
    with errors_reported(path):
        conn = connect(path, read_only=True)
        try:
            problems = _quick_check(conn) if full else []
            _check_edges(conn)
        finally:
            conn.close()
    if problems:
        raise damaged_store_error(path, sqlite3.DatabaseError("; ".join(problems[:3])))


def _quick_check(conn: sqlite3.Connection) -> list[str]:
    rows = [str(row[0]) for row in conn.execute("PRAGMA quick_check")]
    return [] if rows == ["ok"] else rows


def _check_edges(conn: sqlite3.Connection) -> None:
    """Read the first and last entry of every table and index: SQLite checks each page it
    loads, and raises for a malformed one."""
    trees = conn.execute(
        "SELECT type, name, tbl_name FROM sqlite_master"
        " WHERE type IN ('table', 'index') AND rootpage > 0 AND name NOT LIKE 'sqlite_stat%'"
    ).fetchall()
    for kind, name, table in trees:
        for direction in ("ASC", "DESC"):
            if kind == "table":
                query = f"SELECT rowid FROM {_quote(table)} ORDER BY rowid {direction} LIMIT 1"
            else:
                columns = [_quote(r[2]) for r in conn.execute(f"PRAGMA index_info({_quote(name)})")]
                if not all(columns):  # an index on an expression: read through its table
                    continue
                order = ", ".join(f"{c} {direction}" for c in columns)
                query = (
                    f"SELECT {', '.join(columns)} FROM {_quote(table)}"
                    f" INDEXED BY {_quote(name)} ORDER BY {order} LIMIT 1"
                )
            conn.execute(query).fetchall()


def _quote(name: object) -> str:
    if name is None:
        return ""
    return '"' + str(name).replace('"', '""') + '"'
