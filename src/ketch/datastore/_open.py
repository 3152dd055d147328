"""Opening a storage backend from a URL: the one place where a :class:`Storage` is built.

The ``datastore_url`` setting names the backend; each URL scheme maps to one opener in
``_SCHEMES``. A URL without a scheme is a directory path::

    /home/me/project/.ketch        the local directory backend (the default: the .ketch dir)
    file:///home/me/project/.ketch the same, as a URL
    memory://NAME                  an in-memory store shared by name within one process (tests)
    s3://BUCKET/PREFIX             an S3 or S3-compatible object store (``pip install 'ketch[s3]'``)
    gs://BUCKET/PREFIX             Google Cloud Storage (built in, untested here)
    az://CONTAINER/PREFIX          Azure Blob Storage (built in, untested here)

Object stores are read through a local cache of immutable objects (see ``_cache``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..exceptions import UserError
from ._blobs import BlobStore
from ._preflight import preflight
from ._storage import LocalStorage, MemoryStorage, Storage


@dataclass(frozen=True)
class StorageOptions:
    """How a backend is opened. ``flush``: large objects reach the disk before they count as
    stored (off for objects rewritten every moment, such as live cards)."""

    read_only: bool = False
    flush: bool = True


Opener = Callable[[str, StorageOptions], Storage]


def open_storage(url: str, *, read_only: bool = False, flush: bool = True) -> Storage:
    """The storage backend that ``url`` names; raises :class:`UserError` for a URL it cannot
    open (an unknown scheme, a malformed URL).

    >>> open_storage("/home/me/project/.ketch")  # doctest: +SKIP
    <ketch.datastore._storage.LocalStorage object at ...>
    """
    opener = _SCHEMES.get(scheme_of(url))
    if opener is None:
        raise UserError(
            f"The datastore URL {url!r} has a scheme ketch cannot open.",
            hint=f"Set datastore_url (KETCH_DATASTORE_URL) to a directory path or a URL "
            f"starting with {', '.join(f'{s}://' for s in _SCHEMES)}.",
            headline="Unknown datastore URL",
        )
    return opener(url, StorageOptions(read_only=read_only, flush=flush))


def open_blobs(url: str, *, read_only: bool = False) -> BlobStore:
    """The content-addressed blobs of the datastore that ``url`` names."""
    return BlobStore(open_storage(url, read_only=read_only))


class RunStores:
    """The blob stores of runs, each opened once: a run's bytes are where the run says it
    wrote them (``RunRecord.datastore_url``), which for a team sharing a database need not
    be the reader's own datastore. Runs that do not say (older ones) read from ``default``."""

    def __init__(self, default_url: str, default: BlobStore) -> None:
        self.default_url = default_url
        self.default = default
        self._opened: dict[str, BlobStore] = {}
        self._lock = threading.Lock()

    def of(self, url: str | None, hostname: str | None = None) -> BlobStore:
        """The blobs of a run that wrote to ``url`` from the machine ``hostname``."""
        if not url or url == self.default_url:
            return self.default
        with self._lock:
            found = self._opened.get(url)
            if found is None:
                storage = open_storage(url, read_only=True)
                found = self._opened[url] = BlobStore(storage, origin=hostname or "")
        return found


def scheme_of(url: str) -> str:
    """``url``'s scheme, lower case; ``file`` for a plain path.

    >>> scheme_of("/srv/.ketch"), scheme_of("MEMORY://t"), scheme_of("C:\\\\store")
    ('file', 'memory', 'file')
    """
    scheme, sep, _rest = url.partition("://")
    return scheme.lower() if sep and scheme.isidentifier() else "file"


def local_path(url: str) -> str:
    """The directory of a ``file://`` URL or a plain path."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost") or not parts.path:
        raise UserError(
            f"The datastore URL {url!r} does not name a local directory.",
            hint="Write a file URL with an absolute path (file:///srv/project/.ketch), or "
            "give the directory's path itself.",
            headline="Bad datastore URL",
        )
    return unquote(parts.path)


def _open_file(url: str, options: StorageOptions) -> Storage:
    return LocalStorage(
        local_path(url),
        fsync_min_bytes=LocalStorage.FSYNC_MIN_BYTES if options.flush else None,
        read_only=options.read_only,
    )


_memory: dict[str, MemoryStorage] = {}
_memory_lock = threading.Lock()


def _open_memory(url: str, options: StorageOptions) -> Storage:
    name = url.partition("://")[2]
    if not name:
        raise UserError(
            f"The datastore URL {url!r} names no store.",
            hint="Give the in-memory store a name: memory://NAME.",
            headline="Bad datastore URL",
        )
    with _memory_lock:
        store = _memory.setdefault(name, MemoryStorage())
    return store.view(read_only=options.read_only)


def _open_cloud(url: str, options: StorageOptions) -> Storage:
    from ._cache import CachedStorage, ObjectCache, cache_max_bytes, cache_root
    from ._cloud import parse, require_obstore
    from ._objectstore import ObjectStorage

    require_obstore(url)
    remote = ObjectStorage(parse(url), read_only=options.read_only)
    limit = cache_max_bytes()
    return remote if limit == 0 else CachedStorage(remote, ObjectCache(cache_root(), limit))


_SCHEMES: dict[str, Opener] = {
    "file": _open_file,
    "memory": _open_memory,
    "s3": _open_cloud,
    "gs": _open_cloud,
    "az": _open_cloud,
}


def check_reachable(url: str) -> None:
    """For an object store: one request that proves the bucket exists and the credentials
    work (a clear error otherwise); nothing for other stores. Its client starts threads, so
    a process that forks helpers calls this after forking them."""
    check = getattr(open_storage(url), "check", None)
    if check is not None:
        check()


def preflight_url(url: str) -> None:
    """Before a run starts: can the datastore that ``url`` names take its writes? A local
    directory is checked (see `preflight`); opening any other checks its URL (and
    `check_reachable` asks an object store). An in-memory store is refused: a run's tasks are
    processes of their own, whose writes it would lose."""
    scheme = scheme_of(url)
    if scheme == "file":
        preflight(Path(local_path(url)))
        return
    open_storage(url)
    if scheme == "memory":
        raise UserError(
            f"The datastore URL {url!r} names an in-memory store, which lives in one "
            "process: the tasks of a run, each a process of its own, cannot share it.",
            hint="Unset datastore_url (KETCH_DATASTORE_URL) to store runs in the .ketch "
            "directory, or give a directory path. memory:// serves tests that work in-process.",
            headline="A run cannot use an in-memory datastore",
        )
