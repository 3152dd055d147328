"""The storage seam: bytes by key. Backends know nothing about runs or artifacts."""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

Buffer = bytes | bytearray | memoryview


class Storage(Protocol):
    """A flat namespace of immutable objects addressed by string keys (``ab/cdef...``)."""

    def put(self, key: str, parts: Sequence[Buffer]) -> None:
        """Store the concatenation of ``parts`` under ``key`` atomically (whole or absent)."""
        ...

    def get(self, key: str) -> memoryview:
        """The bytes stored under ``key``; raises ``KeyError`` when absent."""
        ...

    def exists(self, key: str) -> bool: ...

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

    Objects of ``fsync_min_bytes`` or more are flushed to the disk before they are renamed into
    place (None: never). Smaller ones are not: a flush costs about a millisecond, more than the
    rest of a small task's writes, and like a SQLite commit in WAL mode with
    ``synchronous=NORMAL`` only a crash of the operating system can lose them. Content-addressed
    callers detect such a loss on read (the hash) and repair it on the next write (the size).
    """

    MMAP_THRESHOLD = 1 << 20

    def __init__(
        self, root: str | os.PathLike[str], *, fsync_min_bytes: int | None = 1 << 20
    ) -> None:
        self.root = Path(root)
        self.fsync_min_bytes = fsync_min_bytes

    def path(self, key: str) -> Path:
        return self.root / key

    def put(self, key: str, parts: Sequence[Buffer]) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb", buffering=0) as fh:
                size = 0
                for part in parts:
                    view = memoryview(part).cast("B")
                    size += view.nbytes
                    while view:
                        written = fh.write(view)
                        view = view[written:] if written else view
                if self.fsync_min_bytes is not None and size >= self.fsync_min_bytes:
                    os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def get(self, key: str) -> memoryview:
        path = self.path(key)
        try:
            with open(path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size >= self.MMAP_THRESHOLD:
                    return memoryview(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_COPY))
                # A writable buffer: arrays unpickled from it must be writable, as in Metaflow.
                buffer = bytearray(size)
                fh.readinto(buffer)
                return memoryview(buffer)
        except FileNotFoundError:
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def size(self, key: str) -> int | None:
        try:
            return os.stat(self.path(key)).st_size
        except FileNotFoundError:
            return None

    def list(self, prefix: str = "") -> Iterator[str]:
        if not self.root.exists():
            return
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith(".tmp-"):
                    continue
                key = os.path.relpath(os.path.join(dirpath, name), self.root)
                if key.startswith(prefix):
                    yield key


class MemoryStorage:
    """An in-memory backend for tests."""

    def __init__(self) -> None:
        self._objects: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def put(self, key: str, parts: Sequence[Buffer]) -> None:
        data = b"".join(bytes(p) for p in parts)
        with self._lock:
            self._objects[key] = data

    def get(self, key: str) -> memoryview:
        with self._lock:
            return memoryview(bytearray(self._objects[key]))

    def exists(self, key: str) -> bool:
        with self._lock:
            return key in self._objects

    def size(self, key: str) -> int | None:
        with self._lock:
            data = self._objects.get(key)
        return None if data is None else len(data)

    def list(self, prefix: str = "") -> Iterator[str]:
        with self._lock:
            keys = sorted(k for k in self._objects if k.startswith(prefix))
        yield from keys


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
