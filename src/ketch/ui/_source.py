"""Where the UI reads from: one metadata store and one blob store, opened once per app."""

from __future__ import annotations

from dataclasses import dataclass

from ..datastore import BlobStore, LocalStorage
from ..metadata import MetadataReader, open_store
from ..metadata._sqlite import sqlite_file
from ..settings import Settings, require_home


@dataclass(frozen=True)
class Source:
    """The project the UI shows. ``home`` is the ``.ketch`` directory, for display;
    ``database_file`` the run database's SQLite file (None for PostgreSQL), for error pages."""

    store: MetadataReader
    blobs: BlobStore
    home: str
    database_file: str | None = None

    def close(self) -> None:
        self.store.close()


def open_source(settings: Settings) -> Source:
    """Open the project's stores; raises `StoreNotFoundError` when there is none yet."""
    home = require_home(settings)
    url = settings.resolved_metadata_url
    # Through SQLAlchemy: its errors carry the SQL, which the log of a failed page keeps.
    store = open_store(url, sqlalchemy=True, read_only=True)
    blobs = BlobStore(LocalStorage(home))
    return Source(store=store, blobs=blobs, home=str(home), database_file=sqlite_file(url))
