"""The metadata store: flows, runs, steps, tasks, attempts, artifacts (name -> blob key), tags
and run parameters, in one SQL schema on SQLite (default) or PostgreSQL.

``open_store(url)`` opens (creating or migrating as needed) a store::

    >>> from ketch.metadata import open_store
    >>> store = open_store("sqlite://")  # in memory; use sqlite_url(path) for a file
    >>> run = store.create_run("HelloFlow", user="ada", tags=[], system_tags=["user:ada"])
    >>> store.get_run(run.run_id).status
    'running'
    >>> store.close()

The schema is documented in ``docs/schema.md``. SQLAlchemy is imported by ``open_store``, not by
importing this package.
"""

from __future__ import annotations

import os
import sys
import types
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Literal, overload

from ._errors import SchemaVersionError, StoreUrlError
from ._health import check_health, preflight
from ._ids import new_run_id
from ._liveness import effective_status, scheduler_gone
from ._protocol import MetadataReader, MetadataStore, MetadataWriter
from ._records import (
    ArtifactRecord,
    AttemptRecord,
    FlowRecord,
    ForeachFrame,
    MetricAggregate,
    MetricCursors,
    MetricPoint,
    MetricRecord,
    ParameterRecord,
    RunLinkRecord,
    RunProgress,
    RunRecord,
    RunStatus,
    RunSummary,
    StepRecord,
    StepTaskStats,
    TaskFailure,
    TaskRecord,
    TaskSnapshot,
    TaskStatus,
)

__all__ = [
    "ArtifactRecord",
    "AttemptRecord",
    "FlowRecord",
    "ForeachFrame",
    "MetadataReader",
    "MetadataStore",
    "MetadataWriter",
    "MetricPoint",
    "MetricAggregate",
    "MetricCursors",
    "MetricRecord",
    "RunLinkRecord",
    "ParameterRecord",
    "RunProgress",
    "StepTaskStats",
    "RunRecord",
    "RunStatus",
    "RunSummary",
    "SchemaVersionError",
    "StepRecord",
    "StoreUrlError",
    "TaskFailure",
    "TaskRecord",
    "TaskSnapshot",
    "TaskStatus",
    "check_health",
    "effective_status",
    "new_run_id",
    "scheduler_gone",
    "open_store",
    "preflight",
    "sqlite_url",
    "store_errors",
]


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """The store URL of a SQLite file (made absolute).

    >>> sqlite_url("/srv/project/.ketch/metadata.db")
    'sqlite:////srv/project/.ketch/metadata.db'
    """
    return "sqlite:///" + Path(path).expanduser().absolute().as_posix()


@overload
def open_store(
    url: str, *, sqlalchemy: bool = False, read_only: Literal[False] = False
) -> MetadataStore: ...


@overload
def open_store(url: str, *, sqlalchemy: bool = False, read_only: bool) -> MetadataReader: ...


def open_store(url: str, *, sqlalchemy: bool = False, read_only: bool = False) -> MetadataReader:
    """Open the metadata store at ``url``, creating or migrating its schema.

    Parameters
    ----------
    url
        ``sqlite:///ABSOLUTE/PATH`` (see `sqlite_url`; the parent directory is created),
        ``sqlite://`` for a private in-memory store (tests), or
        ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE`` (needs ``ketch[postgres]``).
    sqlalchemy
        Run the queries through SQLAlchemy for a SQLite file as well (the same queries: each is
        written once, see ``_reads``). By default a SQLite file is read and written with the
        standard library's ``sqlite3``, which opens in a millisecond.
    read_only
        For readers (the Client, the CLI's reading commands, the UI): returns a
        `MetadataReader`. A SQLite file is opened
        for reading only, so that a store on a read-only mount or a full disk can still be
        read; the file is never created, and writing raises `StoreAccessError`. A schema that
        is older than this ketch is still upgraded first, where the file can be written.

    Raises
    ------
    ketch.exceptions.UserError
        The URL is not supported, the driver is missing, or the store's schema is newer than
        this ketch (`SchemaVersionError`); the store's place cannot be used
        (`StoreAccessError`), its disk is full (`StoreFullError`), or a read-only store has no
        database (`StoreNotFoundError`).
    ketch.exceptions.StoreDamagedError
        The SQLite file is not a database or is damaged.
    """
    from ._sqlite import sqlite_file

    if sqlite_file(url) is not None and not sqlalchemy:
        from ._sqlite_store import SqliteStore

        return SqliteStore(url, read_only=read_only)
    from ._sql import SqlMetadataStore

    return SqlMetadataStore(url, read_only=read_only)


def store_errors(url: str) -> AbstractContextManager[None]:
    """A context in which SQLite's errors on the store at ``url`` are raised as ketch's:
    `StoreDamagedError` for a damaged file, `StoreFullError`, `StoreAccessError`. For callers
    that run their own queries over the schema (the UI); the stores' methods do it already.

    >>> with store_errors("postgresql://db/ketch"):  # not a SQLite file: nothing to translate
    ...     pass
    """
    from ._sqlite import errors_reported, sqlite_file

    path = sqlite_file(url)
    return nullcontext() if path is None else errors_reported(path)


class _CallableModule(types.ModuleType):
    """``ketch.metadata`` is this package and also Metaflow's ``metadata()`` function.

    Metaflow code does ``from metaflow import metadata; metadata("local@/path")``. Once this
    package is imported, ``from ketch import metadata`` finds it (Python sets a package's
    attribute to each subpackage it imports), so the package itself is made callable: calling
    it is :func:`ketch.client.metadata`.
    """

    def __call__(self, ms: str) -> str:
        from ..client import metadata

        return metadata(ms)


sys.modules[__name__].__class__ = _CallableModule
