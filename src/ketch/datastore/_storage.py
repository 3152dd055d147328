"""The storage seam: bytes by key. Backends know nothing about runs or artifacts."""

from __future__ import annotations

import contextlib
import errno
import io
import itertools
import mmap
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

from ..exceptions import InternalError
from ._pack import Pack

Buffer = bytes | bytearray | memoryview


class Storage(Protocol):
    """A flat namespace of immutable objects addressed by string keys (``ab/cdef...``)."""

    def put(self, key: str, parts: Iterable[Buffer], *, pack: bool = False) -> None:
        """Store the concatenation of ``parts`` under ``key`` atomically (whole or absent).

        ``parts`` may be an iterator (a stream of chunks, read once): a backend holds one
        part at a time, so a large object can be stored without being whole in memory. If the
        iterator raises, nothing is stored.

        ``pack``: the object under ``key`` never changes (its key names its content), so a
        backend may keep it together with other small objects rather than on its own.
        """
        ...

    def get(self, key: str) -> memoryview:
        """The bytes stored under ``key``; raises ``KeyError`` when absent."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A readable file object over the object under ``key``, to read a large object in
        pieces instead of whole; raises ``KeyError`` when absent. The caller closes it."""
        ...

    def exists(self, key: str) -> bool: ...

    def missing(self, keys: Iterable[str]) -> set[str]:
        """Those of ``keys`` that are absent: one batched look, for many keys at once."""
        ...

    def size(self, key: str) -> int | None:
        """The size in bytes of the object under ``key``; None when absent."""
        ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with ``prefix``."""
        ...


class LocalStorage:
    """Objects as files under a root directory; writes go to a temporary name then rename.

    Large objects are read back by memory-mapping them copy-on-write, so a reader gets a
    writable view without the file ever changing and without reading pages it does not touch.

    Small immutable objects (``put(..., pack=True)``, under ``PACK_MAX_BYTES``) are appended to
    the store's pack (:mod:`._pack`) instead: a task then makes no file at all. Reads look for a
    file of the key's name first, then in the pack.

    Objects of ``fsync_min_bytes`` or more are flushed to the disk before they are renamed into
    place (None: never). Smaller ones are not: a flush costs about a millisecond, more than the
    rest of a small task's writes, and like a SQLite commit in WAL mode with
    ``synchronous=NORMAL`` only a crash of the operating system can lose them. Content-addressed
    callers detect such a loss on read (the hash) and repair it on the next write (the size).
    """

    MMAP_THRESHOLD = 1 << 20
    PACK_MAX_BYTES = 1 << 16
    FSYNC_MIN_BYTES = 1 << 20

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        fsync_min_bytes: int | None = FSYNC_MIN_BYTES,
        read_only: bool = False,
    ) -> None:
        self._root = os.fspath(root)
        self.fsync_min_bytes = fsync_min_bytes
        self.read_only = read_only
        self.pack = Pack(f"{self._root}/packs")

    @property
    def root(self) -> Path:
        return Path(self._root)

    def path(self, key: str) -> Path:
        return self.root / key

    def _file(self, key: str) -> str:
        return f"{self._root}/{key}"

    def put(self, key: str, parts: Iterable[Buffer], *, pack: bool = False) -> None:
        if self.read_only:
            raise _read_only(self._root, key)
        if pack and isinstance(parts, Sequence):  # never an iterator: it would be read twice
            size = sum(memoryview(p).nbytes for p in parts)
            if size < self.PACK_MAX_BYTES:
                self.pack.put(key, b"".join(parts))
                with contextlib.suppress(FileNotFoundError):  # a damaged copy read first
                    os.unlink(self._file(key))
                return
        target = self._file(key)
        fd, tmp = create_temporary(os.path.dirname(target))
        try:
            size = 0
            for part in parts:
                view = memoryview(part).cast("B")
                size += view.nbytes
                while view:
                    view = view[os.write(fd, view) :]
            if self.fsync_min_bytes is not None and size >= self.fsync_min_bytes:
                os.fsync(fd)
            os.close(fd)
            fd = -1
            os.replace(tmp, target)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def get(self, key: str) -> memoryview:
        try:
            fd = os.open(self._file(key), os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            packed = self.pack.get(key)
            if packed is None:
                raise KeyError(key) from None
            return packed
        try:
            size = os.fstat(fd).st_size
            if size >= self.MMAP_THRESHOLD:
                return memoryview(mmap.mmap(fd, 0, access=mmap.ACCESS_COPY))
            # A writable buffer: arrays unpickled from it must be writable, as in Metaflow.
            buffer = bytearray(size)
            view, got = memoryview(buffer), 0
            while got < size:
                n = os.readv(fd, [view[got:]])
                if n == 0:
                    break  # the file shrank while read: the caller's hash check notices
                got += n
            return view
        finally:
            os.close(fd)

    def open(self, key: str) -> BinaryIO:
        """A file of its own is read from the disk as the caller asks; a packed object is
        under ``PACK_MAX_BYTES``, so it is read whole."""
        try:
            return open(self._file(key), "rb")  # noqa: SIM115 (the caller closes it)
        except FileNotFoundError:
            packed = self.pack.get(key)
            if packed is None:
                raise KeyError(key) from None
            return io.BytesIO(packed)

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def missing(self, keys: Iterable[str]) -> set[str]:
        """One read of the pack's index for every key; a ``stat`` only for keys it lacks
        (objects of a file of their own: the large ones, which are few)."""
        wanted = set(keys)
        return {k for k in wanted - self.pack.present(wanted) if not os.path.exists(self._file(k))}

    def size(self, key: str) -> int | None:
        try:
            return os.stat(self._file(key)).st_size
        except FileNotFoundError:
            return self.pack.size(key)

    def locate(self, key: str) -> tuple[Path, int, int] | None:
        """Where the object's bytes lie: (file, offset, length); None when absent."""
        path = self.path(key)
        if path.is_file():
            return path, 0, path.stat().st_size
        where = self.pack.locate(key)
        return None if where is None else (Path(self.pack.directory) / "data", *where)

    def list(self, prefix: str = "") -> Iterator[str]:
        if not self.root.exists():
            return
        found = set(k for k in self.pack.keys() if k.startswith(prefix))
        packs = os.path.join(self._root, "packs")
        for dirpath, _dirs, files in os.walk(self.root):
            if dirpath == packs:
                continue
            for name in files:
                if name.startswith(_TEMPORARY):
                    continue
                key = os.path.relpath(os.path.join(dirpath, name), self.root)
                if key.startswith(prefix):
                    found.add(key)
        yield from sorted(found)


_TEMPORARY_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
_temporaries = itertools.count()
_TEMPORARY = ".tmp-"
_TOKEN = os.urandom(4).hex()  # with the pid, unique across hosts sharing a file system


def create_temporary(directory: str) -> tuple[int, str]:
    """Open a new, uniquely named hidden file in ``directory`` (made if missing).

    Its name, ``.tmp-<pid>-<token>-<n>``, says which process writes it, so that a file left by
    a writer killed mid-write can be told from one still being written (`temporary_writer`).
    """
    made = False
    while True:
        path = f"{directory}/{_TEMPORARY}{os.getpid()}-{_TOKEN}-{next(_temporaries)}"
        try:
            return os.open(path, _TEMPORARY_FLAGS, 0o644), path
        except FileNotFoundError:
            if made:  # the directory exists but takes no files (/proc, say)
                raise
            os.makedirs(directory, exist_ok=True)
            made = True
        except FileExistsError:  # left behind by a crashed process with the same pid
            continue


def temporary_writer(name: str) -> int | None:
    """The pid of the process that writes the temporary file ``name``; None if it is not one.

    >>> temporary_writer(".tmp-4242-0a1b2c3d-7"), temporary_writer("ab12")
    (4242, None)
    """
    if not name.startswith(_TEMPORARY):
        return None
    pid = name[len(_TEMPORARY) :].partition("-")[0]
    return int(pid) if pid.isdigit() else None


class MemoryStorage:
    """An in-memory backend for tests (``memory://NAME`` opens one shared by name)."""

    def __init__(self, *, read_only: bool = False) -> None:
        self._objects: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self.read_only = read_only

    def view(self, *, read_only: bool) -> MemoryStorage:
        """Another handle on the same objects (say, one that refuses to write)."""
        other = MemoryStorage(read_only=read_only)
        other._objects, other._lock = self._objects, self._lock
        return other

    def put(self, key: str, parts: Iterable[Buffer], *, pack: bool = False) -> None:
        if self.read_only:
            raise _read_only("memory", key)
        data = b"".join(bytes(p) for p in parts)
        with self._lock:
            self._objects[key] = data

    def get(self, key: str) -> memoryview:
        with self._lock:
            return memoryview(bytearray(self._objects[key]))

    def open(self, key: str) -> BinaryIO:
        with self._lock:
            data = self._objects[key]
        return io.BytesIO(data)  # shares the immutable bytes: no copy until written to

    def exists(self, key: str) -> bool:
        with self._lock:
            return key in self._objects

    def missing(self, keys: Iterable[str]) -> set[str]:
        with self._lock:
            return set(keys) - self._objects.keys()

    def size(self, key: str) -> int | None:
        with self._lock:
            data = self._objects.get(key)
        return None if data is None else len(data)

    def list(self, prefix: str = "") -> Iterator[str]:
        with self._lock:
            keys = sorted(k for k in self._objects if k.startswith(prefix))
        yield from keys


def _read_only(where: str, key: str) -> InternalError:
    return InternalError(
        f"The datastore at {where} was opened read-only, yet ketch tried to store {key!r}.",
        hint="Readers (the Client, the UI) open the datastore read-only and must not write.",
    )


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
