"""Schema versions and migrations.

The database records its schema version in the one-row table ``ketch_schema_version``.
``MIGRATIONS[i]`` upgrades a database from version ``i`` to ``i + 1``; version 1 creates every
table. A fresh database (version 0) gets the *current* schema of ``_schema`` in one step and is
stamped with the latest version, so a migration written later must upgrade an existing database
from the previous version to the shape ``_schema`` describes after the change.

``migrate`` is safe when several processes open a fresh store at once: it takes the database's
write lock (SQLite ``BEGIN IMMEDIATE``) or a transaction-scoped advisory lock (PostgreSQL) before
it reads the version again and applies what is missing, all in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, delete, insert, inspect, select, text
from sqlalchemy.schema import CreateIndex

from ._errors import check_not_newer
from ._schema import TASK_DURATION, TASK_STATUS, metadata, metrics, run_links, schema_version

Migration = Callable[[Connection], None]

# An arbitrary constant: the key of the PostgreSQL advisory lock that serializes migrations.
_PG_LOCK_KEY = 0x6B657463_68000001  # "ketch" + 1


def _v1_initial(conn: Connection) -> None:
    metadata.create_all(conn)


def _v2_run_datastore(conn: Connection) -> None:
    """Runs record the datastore they wrote to (NULL for older runs: the reader's own)."""
    conn.execute(text("ALTER TABLE runs ADD COLUMN datastore_url VARCHAR"))


def _v3_attempt_node(conn: Connection) -> None:
    """Attempts record the node they ran on (NULL for older attempts: the launching machine)."""
    conn.execute(text("ALTER TABLE attempts ADD COLUMN node VARCHAR"))


def _v4_metrics(conn: Connection) -> None:
    """The ``metrics`` table (log_metric); older runs have no rows in it."""
    metrics.create(conn)


def _v5_run_links(conn: Connection) -> None:
    """The ``run_links`` table (experiment trackers); older runs have no rows in it."""
    run_links.create(conn)


def _v6_task_summary_indexes(conn: Connection) -> None:
    """Indexes for a run's per-step summaries (counts and times; slowest and median task), so
    that a step of 100,000 tasks is summarised without reading or sorting its rows."""
    for index in (TASK_STATUS, TASK_DURATION):
        conn.execute(CreateIndex(index, if_not_exists=True))


MIGRATIONS: tuple[Migration, ...] = (
    _v1_initial,
    _v2_run_datastore,
    _v3_attempt_node,
    _v4_metrics,
    _v5_run_links,
    _v6_task_summary_indexes,
)
LATEST_VERSION = len(MIGRATIONS)


def _read_version(conn: Connection) -> int:
    if not inspect(conn).has_table(schema_version.name):
        return 0
    version = conn.scalar(select(schema_version.c.version))
    return int(version) if version is not None else 0


def current_version(engine: Engine) -> int:
    """The schema version of the database (0 when it has no ketch tables yet)."""
    with engine.connect() as conn, conn.begin():
        return _read_version(conn)


def migrate(engine: Engine) -> int:
    """Bring the database to `LATEST_VERSION`; returns the version it was at before.

    Raises `SchemaVersionError` when the database is newer than this code.
    """
    url = engine.url.render_as_string(hide_password=True)
    before = current_version(engine)  # cheap and lock-free when nothing is to do
    check_not_newer(before, LATEST_VERSION, url)
    if before == LATEST_VERSION:
        return before
    with engine.connect() as conn:
        conn.execution_options(ketch_write=True)  # SQLite: BEGIN IMMEDIATE
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            version = _read_version(conn)  # another process may have migrated meanwhile
            check_not_newer(version, LATEST_VERSION, url)
            if version == LATEST_VERSION:
                return version
            # A fresh database gets the current schema at once (version 1 creates everything).
            for step in MIGRATIONS[:1] if version == 0 else MIGRATIONS[version:]:
                step(conn)
            conn.execute(delete(schema_version))
            conn.execute(insert(schema_version).values(version=LATEST_VERSION))
            return version
