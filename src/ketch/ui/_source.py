"""Where the UI reads from: one metadata store and one blob store, opened once per app."""

from __future__ import annotations

from dataclasses import dataclass

from ..datastore import BlobStore, RunStores, open_blobs
from ..metadata import MetadataReader, RunRecord, open_store
from ..metadata._sqlite import sqlite_file
from ..settings import Settings, require_home


@dataclass(frozen=True)
class Source:
    """The project the UI shows. ``home`` is the ``.ketch`` directory, for display;
    ``database_file`` the run database's SQLite file (None for PostgreSQL), for error pages;
    ``datastore_url`` where ``blobs`` are, for live cards (not content-addressed)."""

    store: MetadataReader
    blobs: BlobStore
    home: str
    database_file: str | None = None
    datastore_url: str = ""
    runs: RunStores | None = None

    def blobs_for(self, run: RunRecord) -> BlobStore:
        """Where ``run``'s bytes are: the datastore it recorded, else the project's."""
        return self.blobs if self.runs is None else self.runs.of(run.datastore_url, run.hostname)

    def datastore_of(self, run: RunRecord) -> str:
        """The datastore URL ``run`` wrote to (live cards are read there)."""
        return run.datastore_url or self.datastore_url

    def close(self) -> None:
        self.store.close()


def open_source(settings: Settings) -> Source:
    """Open the project's stores; raises `StoreNotFoundError` when there is none yet."""
    home = require_home(settings)
    url = settings.resolved_metadata_url
    # Through SQLAlchemy: its errors carry the SQL, which the log of a failed page keeps.
    store = open_store(url, sqlalchemy=True, read_only=True)
    datastore_url = settings.resolved_datastore_url
    blobs = open_blobs(datastore_url, read_only=True)
    return Source(
        store=store,
        blobs=blobs,
        home=str(home),
        database_file=sqlite_file(url),
        datastore_url=datastore_url,
        runs=RunStores(datastore_url, blobs),
    )
