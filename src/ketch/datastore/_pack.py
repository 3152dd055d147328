"""Small immutable objects appended to one shared file instead of a file each.

Making a file costs far more than writing a few hundred bytes: an inode, a directory entry, on
some file systems a search for a free inode that grows with every file deleted lately (on this
project's CI machines, ext4 without a journal, up to a millisecond). A task's artifacts and logs
are mostly that small, so a store keeps them in a pack::

    packs/data       the objects' bytes, one after the other
    packs/index-<h>  sixteen index files; an object's record goes to the one named by the
                     CRC-32 of its key, modulo 16

An index record is ``b"KP" | u16 key length | key (UTF-8) | u32 length | u64 offset | u32 CRC-32
of everything before it``. A writer appends the object's bytes, then its record, each with one
``write(2)`` on a descriptor opened with ``O_APPEND``: the kernel puts each write at the end of
the file, whole, whatever other processes append at the same time (on a local file system; not
over NFS). Since the record is written after the bytes it points to, a reader that finds a record
can read its bytes. A reader searches the index for the key and trusts a record only when its
checksum matches, so a record torn by a crash is skipped; the last good record of a key wins.

Nothing is flushed to the disk (as for small loose objects, see :class:`LocalStorage`); what a
crash of the machine loses reads back as missing or fails the caller's hash check.
"""

from __future__ import annotations

import contextlib
import errno
import os
import struct
import threading
import zlib
from collections.abc import Iterable, Iterator

_MAGIC = b"KP"
_HEAD = struct.Struct("<2sH")  # magic, key length
_TAIL = struct.Struct("<IQI")  # object length, offset, crc32
_BUCKETS = 16
_APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC


def _bucket(key: bytes) -> int:
    return zlib.crc32(key) % _BUCKETS


def _record(key: bytes, offset: int, length: int) -> bytes:
    body = _HEAD.pack(_MAGIC, len(key)) + key + struct.pack("<IQ", length, offset)
    return body + struct.pack("<I", zlib.crc32(body))


def _parse(buf: bytes | bytearray, at: int) -> tuple[bytes, int, int, int] | None:
    """The record starting at ``at`` as (key, length, offset, end), or None if it is not one."""
    if at + _HEAD.size > len(buf):
        return None
    magic, key_len = _HEAD.unpack_from(buf, at)
    key_end = at + _HEAD.size + key_len
    if magic != _MAGIC or key_end + _TAIL.size > len(buf):
        return None
    length, offset, crc = _TAIL.unpack_from(buf, key_end)
    end = key_end + _TAIL.size
    if zlib.crc32(memoryview(buf)[at : end - 4]) != crc:
        return None
    return bytes(buf[at + _HEAD.size : key_end]), length, offset, end


class Pack:
    """The pack under ``directory``; safe to share between threads and processes."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._pid = -1
        self._appenders: dict[str, int] = {}
        self._reader = -1
        self._index_readers: dict[int, int] = {}
        self._index: dict[int, bytearray] = {}  # bucket -> the index bytes read so far

    # -- writing ---------------------------------------------------------------------------
    def put(self, key: str, data: bytes) -> None:
        raw = key.encode()
        with self._lock:
            fd = self._appender("data")
            _write_whole(fd, data)
            offset = os.lseek(fd, 0, os.SEEK_CUR) - len(data)  # where this write landed
            _write_whole(self._appender(f"index-{_bucket(raw):x}"), _record(raw, offset, len(data)))

    def _appender(self, name: str) -> int:
        """This process's append descriptor for ``name``: never one inherited over ``fork``,
        whose file position other processes would move."""
        self._forget_if_forked()
        fd = self._appenders.get(name)
        if fd is None:
            path = f"{self.directory}/{name}"
            try:
                fd = os.open(path, _APPEND, 0o644)
            except FileNotFoundError:
                os.makedirs(self.directory, exist_ok=True)
                fd = os.open(path, _APPEND, 0o644)
            self._appenders[name] = fd
        return fd

    def _forget_if_forked(self) -> None:
        if self._pid != os.getpid():
            self._close_descriptors()  # the parent's: close this process's copies
            self._pid = os.getpid()

    def _close_descriptors(self) -> None:
        for fd in [*self._appenders.values(), *self._index_readers.values(), self._reader]:
            if fd >= 0:
                os.close(fd)
        self._appenders = {}
        self._index_readers = {}
        self._reader = -1

    def close(self) -> None:
        """Close the files this object holds open (using it again opens them again)."""
        with self._lock:
            self._close_descriptors()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter exit, os may be gone
            self._close_descriptors()

    # -- reading ---------------------------------------------------------------------------
    def locate(self, key: str) -> tuple[int, int] | None:
        """(offset, length) of the object under ``key`` in the data file; None when absent."""
        raw = key.encode()
        bucket = _bucket(raw)
        with self._lock:
            buf = self._index.setdefault(bucket, bytearray())
            self._read_tail(bucket, buf)  # a later record of the key may have come
            found = _search(buf, raw)
            if found is not None and not self._holds(*found):
                return None
        return found

    def _holds(self, offset: int, length: int) -> bool:
        """Whether the data file reaches the object's end (a crash may have cut it short)."""
        try:
            return offset + length <= os.fstat(self._data_reader()).st_size
        except FileNotFoundError:
            return False

    def get(self, key: str) -> memoryview | None:
        where = self.locate(key)
        if where is None:
            return None
        offset, length = where
        buffer = bytearray(length)  # writable, as arrays unpickled from it must be
        with self._lock:
            got = os.preadv(self._data_reader(), [buffer], offset)
        return memoryview(buffer)[:got]  # short only if the data file was cut: the hash says

    def _data_reader(self) -> int:
        self._forget_if_forked()
        if self._reader < 0:
            self._reader = os.open(f"{self.directory}/data", os.O_RDONLY | os.O_CLOEXEC)
        return self._reader

    def size(self, key: str) -> int | None:
        where = self.locate(key)
        return None if where is None else where[1]

    def present(self, keys: Iterable[str]) -> set[str]:
        """Those of ``keys`` the pack holds whole: one pass over the index files they would
        be in, instead of a search of the index per key."""
        wanted: dict[int, set[bytes]] = {}
        for key in keys:
            raw = key.encode()
            wanted.setdefault(_bucket(raw), set()).add(raw)
        where: dict[bytes, tuple[int, int]] = {}  # key -> (offset, length) of its last record
        for bucket, raws in wanted.items():
            with self._lock:
                buf = self._index.setdefault(bucket, bytearray())
                self._read_tail(bucket, buf)
                for raw, length, offset in _records(buf):
                    if raw in raws:
                        where[raw] = (offset, length)
        if not where:
            return set()
        with self._lock:
            try:
                size = os.fstat(self._data_reader()).st_size
            except FileNotFoundError:
                return set()
        return {raw.decode() for raw, (offset, length) in where.items() if offset + length <= size}

    def keys(self) -> Iterator[str]:
        """Every key with a good record, each once."""
        seen: set[bytes] = set()
        for bucket in range(_BUCKETS):
            buf = bytearray()
            with self._lock:
                self._read_tail(bucket, buf)
            seen.update(raw for raw, _length, _offset in _records(buf))
        for raw in sorted(seen):
            yield raw.decode()

    def _read_tail(self, bucket: int, buf: bytearray) -> None:
        """Append to ``buf`` what the bucket's index file holds beyond its length."""
        self._forget_if_forked()
        fd = self._index_readers.get(bucket)
        if fd is None:
            try:
                fd = os.open(f"{self.directory}/index-{bucket:x}", os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                return
            self._index_readers[bucket] = fd
        size = os.fstat(fd).st_size
        if size > len(buf):
            buf.extend(os.pread(fd, size - len(buf), len(buf)))


def _records(buf: bytearray) -> Iterator[tuple[bytes, int, int]]:
    """(key, length, offset) of every good record in ``buf``, in order (a torn one skipped)."""
    at = 0
    while at < len(buf):
        record = _parse(buf, at)
        if record is None:  # torn by a crash: look for the next record
            at = buf.find(_MAGIC, at + 1)
            if at < 0:
                return
            continue
        yield record[0], record[1], record[2]
        at = record[3]


def _search(buf: bytearray, raw: bytes) -> tuple[int, int] | None:
    """The last good record of ``raw`` in ``buf`` as (offset, length)."""
    needle = _HEAD.pack(_MAGIC, len(raw)) + raw
    end = len(buf)
    while (at := buf.rfind(needle, 0, end)) >= 0:
        record = _parse(buf, at)
        if record is not None and record[0] == raw:
            return record[2], record[1]
        end = at + len(needle) - 1
    return None


def _write_whole(fd: int, data: bytes) -> None:
    written = os.write(fd, data)
    if written != len(data):  # a regular file writes short only when it is full
        raise OSError(errno.ENOSPC, "No space left on device (short write to the pack)")
