"""A cache of immutable objects on the local disk, shared by the processes of a machine, in
front of a remote :class:`Storage`: read through (what is read is kept) and, for objects up
to ``WRITE_THROUGH_MAX`` (a task's pack of small artifacts), written through: the next step
on this machine reads them from the disk.

Only objects that never change under their key are cached: blobs (``blobs/``, named by their
content) and packs (``packs/``, named at random when written, never rewritten). Everything
else (live cards) goes to the remote store every time.

Where: ``KETCH_CACHE_DIR``, else ``ketch`` in the user's cache directory (``$XDG_CACHE_HOME``
or ``~/.cache``), as ``objects/<key>`` files. How much: ``KETCH_CACHE_MAX_BYTES`` (default
10 GiB; 0 turns the cache off). A large object is downloaded straight into its cache file,
range by range, and read back memory-mapped, so neither the download nor the read holds it
twice. Files are written under a temporary name and renamed into place, so a reader sees a
whole file or none; readers check blobs against their key anyway.

An object over a quarter of the limit is not kept (read or written). Bounding:
each process counts what it adds; once that passes a tenth of the limit, it lists
the cache and deletes the least recently used files (reads refresh a file's time) until the
cache is under 80% of the limit. At most one process trims at a time (an ``flock``); the
cache may exceed the limit by what processes add between two trims.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from ._cloud import Location
from ._objectstore import Entries, ObjectStorage, memory_sink
from ._storage import Buffer, LocalStorage, create_temporary

IMMUTABLE_PREFIXES = ("blobs/", "packs/")
DEFAULT_MAX_BYTES = 10 << 30
SMALL_BYTES = 1 << 20  # smaller objects are read into memory, then cached
# Larger objects are not written through: writing a 1 GiB array to the cache as well as to
# the store made the benchmark's store-then-load 2.7 s slower (6.2 s -> 8.9 s on SeaweedFS)
# than downloading it into the cache when it is first read.
WRITE_THROUGH_MAX = 16 << 20
CACHE_DIR_ENV = "KETCH_CACHE_DIR"
CACHE_MAX_ENV = "KETCH_CACHE_MAX_BYTES"


def cache_root() -> Path:
    """The cache directory (see the module's docstring)."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ketch"


def cache_max_bytes() -> int:
    raw = os.environ.get(CACHE_MAX_ENV, "").strip()
    try:
        return max(0, int(raw)) if raw else DEFAULT_MAX_BYTES
    except ValueError:
        return DEFAULT_MAX_BYTES


class ObjectCache:
    """The files of cached objects under ``root/objects``, at most about ``max_bytes``."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.files = LocalStorage(root / "objects", fsync_min_bytes=None)
        self._added = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> memoryview | None:
        path = self.files._file(key)
        try:
            view = self.files.get(key)
        except KeyError:
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: trimmed last
        return view

    def add(self, key: str, data: Buffer) -> None:
        self.add_parts(key, [data])

    def add_parts(self, key: str, parts: Sequence[Buffer]) -> None:
        """Cache the concatenation of ``parts`` (written piece by piece, never joined)."""
        size = sum(memoryview(p).nbytes for p in parts)
        if not self.takes(size):
            return
        with contextlib.suppress(OSError):  # a full or read-only cache only costs speed
            self.files.put(key, parts)
            self._count(size)

    def takes(self, size: int) -> bool:
        """Whether an object of ``size`` bytes is kept: one must not push most of the cache
        out, so objects over a quarter of the limit are not."""
        return size <= self.max_bytes // 4

    def begin(self, key: str, size: int) -> _Pending | None:
        """A temporary file of ``size`` bytes to write ``key``'s object into (at offsets, from
        any thread); None if the cache cannot take it (the caller reads into memory)."""
        if not self.takes(size):
            return None
        target = self.files._file(key)
        try:
            fd, tmp = create_temporary(os.path.dirname(target))
        except OSError:
            return None
        try:
            os.ftruncate(fd, size)
        except OSError:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            return None
        return _Pending(self, fd, tmp, target, size)

    def _count(self, size: int) -> None:
        with self._lock:
            self._added += size
            due = self._added >= max(self.max_bytes // 10, 1)
            if due:
                self._added = 0
        if due:
            self.trim()

    def trim(self) -> None:
        """Delete the least recently used files until the cache is under 80% of its limit."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".trim.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return  # another process is trimming
            entries = sorted(_files(self.root / "objects"))
            total = sum(size for _, size, _ in entries)
            goal = self.max_bytes * 8 // 10
            for _, size, path in sorted(entries):
                if total <= goal:
                    break
                with contextlib.suppress(OSError):
                    os.unlink(path)
                    total -= size


def _files(root: Path) -> Iterator[tuple[float, int, str]]:
    """(last use, size, path) of each cached file."""
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            with contextlib.suppress(OSError):
                info = os.stat(path)
                yield info.st_mtime, info.st_size, path


class CachedStorage:
    """A remote :class:`Storage` read through an :class:`ObjectCache`."""

    remote = True

    def __init__(self, remote: ObjectStorage, cache: ObjectCache) -> None:
        self.remote_storage = remote
        self.cache = cache
        self.read_only = remote.read_only

    @property
    def where(self) -> Location:
        return self.remote_storage.where

    def put(self, key: str, parts: Iterable[Buffer], *, pack: bool = False) -> None:
        """Store in the remote store, then (an immutable object given whole, up to
        ``WRITE_THROUGH_MAX``) in the cache too."""
        self.remote_storage.put(key, parts, pack=pack)
        if key.startswith(IMMUTABLE_PREFIXES) and isinstance(parts, Sequence):
            if sum(memoryview(p).nbytes for p in parts) <= WRITE_THROUGH_MAX:
                self.cache.add_parts(key, parts)

    def evict(self, key: str) -> bool:
        """Drop the cached copy of ``key`` (found damaged); whether there was one."""
        try:
            os.unlink(self.cache.files._file(key))
        except OSError:
            return False
        return True

    def get(self, key: str) -> memoryview:
        if not key.startswith(IMMUTABLE_PREFIXES):
            return self.remote_storage.get(key)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        return self._download(key, self.remote_storage.fetch)

    def _download(self, key: str, fetch: Callable[..., int]) -> memoryview:
        """Download a large object straight into its cache file (never whole in memory) and
        map the file; a small one, or one the cache cannot take, into memory."""
        pending: list[_Pending] = []
        memory: list[memoryview] = []

        def sink(size: int) -> Callable[[int, Buffer], None]:
            started = self.cache.begin(key, size) if size > SMALL_BYTES else None
            if started is not None:
                pending.append(started)
                return started.write
            view, write = memory_sink(size)
            memory.append(view)
            return write

        try:
            fetch(key, sink)
        except OSError:  # the cache's disk is full or failing: read into memory instead
            if not pending:
                raise
            pending[0].abort()
            return self.remote_storage.get(key)
        except BaseException:
            for started in pending:
                started.abort()
            raise
        if pending:
            if pending[0].commit():
                cached = self.cache.get(key)
                if cached is not None:
                    return cached
            return self.remote_storage.get(key)
        self.cache.add(key, memory[0])
        return memory[0]

    def open(self, key: str) -> BinaryIO:
        if key.startswith(IMMUTABLE_PREFIXES):
            with contextlib.suppress(KeyError):
                return self.cache.files.open(key)
        return self.remote_storage.open(key)

    def exists(self, key: str) -> bool:
        return self.remote_storage.exists(key)

    def missing(self, keys: Iterable[str]) -> set[str]:
        return self.remote_storage.missing(keys)

    def size(self, key: str) -> int | None:
        return self.remote_storage.size(key)

    def list(self, prefix: str = "") -> Iterator[str]:
        return self.remote_storage.list(prefix)

    def entries(self, prefix: str) -> Entries:
        return self.remote_storage.entries(prefix)

    def check(self) -> None:
        self.remote_storage.check()


class _Pending:
    """A cache file being downloaded: written at offsets, then renamed into place."""

    def __init__(self, cache: ObjectCache, fd: int, tmp: str, target: str, size: int) -> None:
        self._cache, self._fd, self._tmp, self._target, self._size = cache, fd, tmp, target, size

    def write(self, offset: int, data: Buffer) -> None:
        view = memoryview(data).cast("B")
        while view:
            n = os.pwrite(self._fd, view, offset)
            view, offset = view[n:], offset + n

    def commit(self) -> bool:
        try:
            os.close(self._fd)
            self._fd = -1
            os.replace(self._tmp, self._target)
        except OSError:
            self.abort()
            return False
        self._cache._count(self._size)
        return True

    def abort(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1
        with contextlib.suppress(OSError):
            os.unlink(self._tmp)
