"""Where the UI reads from: one metadata store and one blob store, opened once per app."""

from __future__ import annotations

from dataclasses import dataclass

from ..datastore import BlobStore, LocalStorage
from ..metadata import MetadataStore, open_store
from ..settings import Settings, require_home


@dataclass(frozen=True)
class Source:
    """The project the UI shows. ``home`` is the ``.ketch`` directory, for display."""

    store: MetadataStore
    blobs: BlobStore
    home: str

    def close(self) -> None:
        self.store.close()


def open_source(settings: Settings) -> Source:
    """Open the project's stores; raises `StoreNotFoundError` when there is none yet."""
    home = require_home(settings)
    store = open_store(settings.resolved_metadata_url, sqlalchemy=True)  # see _queries
    return Source(store=store, blobs=BlobStore(LocalStorage(home)), home=str(home))
