"""Where the client reads from (its metadata provider), and the namespace it sees."""

from __future__ import annotations

import atexit
import os
import re
from contextvars import ContextVar
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import cast

from .._namespace import UNSET, current_namespace, set_namespace
from ..datastore import BlobStore, RunStores, open_blobs
from ..exceptions import StoreNotFoundError
from ..metadata import MetadataReader, MetadataStore, RunRecord, open_store
from ..metadata._sqlite_store import SqliteStore  # noqa: F401  (every local project opens one)
from ..settings import (
    DB_FILENAME,
    HOME_DIRNAME,
    Settings,
    env_name,
    metadata_url_of,
    require_home,
    resolve,
)


@dataclass(frozen=True)
class Backend:
    """What the client reads: the metadata store, opened for reading only (so that a store on a
    read-only mount or a full disk can be read), and the blobs."""

    store: MetadataReader
    blobs: BlobStore
    runs: RunStores | None = field(default=None, repr=False, compare=False)
    _writer: list[MetadataStore] = field(default_factory=list, repr=False, compare=False)

    def blobs_of(self, run: RunRecord) -> BlobStore:
        """Where ``run``'s bytes are: the datastore it recorded, else this backend's."""
        return self.blobs if self.runs is None else self.runs.of(run.datastore_url, run.hostname)

    def tag_store(self) -> MetadataStore:
        """The store opened for writing, when first needed: tags are all the client writes."""
        if not self.store.read_only:  # a store without a read-only mode (PostgreSQL, memory)
            return cast(MetadataStore, self.store)
        if not self._writer:
            writer = open_store(self.store.url)
            atexit.register(writer.close)
            self._writer.append(writer)
        return self._writer[0]


@dataclass(frozen=True)
class Provider:
    """A place the client can read: a store directory (``.ketch``: blobs and, by default,
    the SQLite run database) and, for a shared database or datastore, its URL."""

    home: Path
    metadata_url: str = ""  # empty: SQLite inside ``home``
    datastore_url: str = ""  # empty: ``home``

    @property
    def resolved_metadata_url(self) -> str:
        return metadata_url_of(self.home, self.metadata_url)

    @property
    def resolved_datastore_url(self) -> str:
        return self.datastore_url or str(self.home)

    def describe(self) -> str:
        """``local@<project directory>`` or ``db@<database URL>`` (password hidden)."""
        if self.metadata_url:
            return "db@" + _PASSWORD.sub(r"\1***@", self.metadata_url)
        if not (self.home / DB_FILENAME).is_file():
            return f"local@<No {HOME_DIRNAME} directory found in current working tree>"
        return f"local@{self.home.parent if self.home.name == HOME_DIRNAME else self.home}"


_PASSWORD = re.compile(r"(://[^/@:]*:)[^/@]*@")
# The provider that metadata() chose; None: the project's, from the settings.
_provider: ContextVar[Provider | None] = ContextVar("ketch_metadata", default=None)


_backends: dict[tuple[str, str], Backend] = {}  # by (metadata URL, datastore URL)
# The variables that can change what the client reads (see ketch.settings).
_ENV = tuple(env_name(f.name) for f in fields(Settings)) + (
    "METAFLOW_USER",
    "SUDO_USER",
    "USERNAME",
    "USER",
)
_resolved: dict[tuple[str, tuple[tuple[str, str], ...]], Settings] = {}


def _settings() -> Settings:
    """Settings for the current directory and ``KETCH_*`` environment, resolved once each."""
    key = (os.getcwd(), tuple((name, os.environ.get(name, "")) for name in _ENV))
    found = _resolved.get(key)
    if found is None:
        found = _resolved[key] = resolve()
    return found


def backend() -> Backend:
    """The metadata store and blob store the client reads (each opened once per process):
    those chosen with :func:`metadata`, else the current project's."""
    chosen = _provider.get()
    if chosen is None:
        settings = _settings()
        require_home(settings)
        chosen = _default_provider(settings)
    return _open(chosen)


def _open(provider: Provider) -> Backend:
    key = (provider.resolved_metadata_url, provider.resolved_datastore_url)
    found = _backends.get(key)
    if found is None:
        store = open_store(provider.resolved_metadata_url, read_only=True)
        atexit.register(store.close)
        url = provider.resolved_datastore_url
        blobs = open_blobs(url, read_only=True)
        found = Backend(store, blobs, RunStores(url, blobs))
        _backends[key] = found
    return found


def _default_provider(settings: Settings) -> Provider:
    return Provider(settings.home_path, settings.metadata_url, settings.datastore_url)


def metadata(ms: str) -> str:
    """Switch where the client reads runs from; returns :func:`get_metadata`.

    Parameters
    ----------
    ms
        ``local@PATH`` or just ``PATH``: the project directory a flow ran in (the one that
        holds ``.ketch``), or a ``.ketch`` directory itself. ``db@URL`` or just a database
        URL (``postgresql://...``, ``sqlite:///...``): a shared run database; artifacts are
        still read from the current datastore (``datastore_url``, by default the store directory).

    Raises
    ------
    ketch.exceptions.StoreNotFoundError
        There is no ketch store at ``PATH``.

    Examples
    --------
    >>> from ketch import metadata, default_metadata
    >>> metadata("local@/path/to/project")  # doctest: +SKIP
    'local@/path/to/project'
    >>> default_metadata()  # back to the store of the working directory  # doctest: +SKIP
    """
    provider = _parse_provider(ms)
    _open(provider)  # a database that cannot be opened fails here, not at the first read
    _provider.set(provider)
    return get_metadata()


def get_metadata() -> str:
    """Where the client reads runs from: ``local@<project directory>`` (the directory
    holding ``.ketch``, as Metaflow shows ``.metaflow``'s) or ``db@<database URL>``.

    Examples
    --------
    >>> from ketch import get_metadata
    >>> get_metadata()  # doctest: +SKIP
    'local@/home/ada/project'
    """
    chosen = _provider.get()
    return (chosen or _default_provider(_settings())).describe()


def default_metadata() -> str:
    """Go back to reading the current project's store (undo :func:`metadata`); returns
    :func:`get_metadata`."""
    _provider.set(None)
    return get_metadata()


def _parse_provider(ms: str) -> Provider:
    kind, sep, info = ms.partition("@")
    if not sep or kind not in ("local", "db"):
        kind, info = ("db" if "://" in ms else "local"), ms
    if kind == "db":
        current = _provider.get() or _default_provider(_settings())
        return Provider(current.home, info, current.datastore_url)
    root = Path(info).expanduser().resolve()
    for home in (root, root / HOME_DIRNAME):
        if (home / DB_FILENAME).is_file():
            return Provider(home)
    raise StoreNotFoundError(
        f"There is no ketch store in {root}.",
        hint=f"Give the directory a flow ran in (the one holding {HOME_DIRNAME}), "
        "e.g. metadata('local@/path/to/project').",
    )


def default_namespace() -> str:
    """The namespace the client starts in: ``user:<name>``.

    Examples
    --------
    >>> from ketch import default_namespace
    >>> default_namespace().startswith("user:")
    True
    """
    return f"user:{_settings().user}"


def namespace(ns: str | None) -> str | None:
    """Switch the client's namespace; ``None`` sees every run.

    Examples
    --------
    >>> from ketch import namespace
    >>> namespace(None)  # the global namespace
    """
    set_namespace(ns)
    return ns


def get_namespace() -> str | None:
    """The current namespace (``None`` means global)."""
    value = current_namespace()
    if value is UNSET:
        return default_namespace()
    return value  # type: ignore[return-value]
