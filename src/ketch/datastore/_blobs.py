"""Content-addressed blobs over a :class:`Storage`: the key is the BLAKE3 hash of the bytes.

In a remote store (S3), a request costs milliseconds, so a task's small blobs are not written
one by one: within :meth:`BlobStore.batch`, blobs under ``SMALL_BLOB_BYTES`` are gathered and
written as one *pack* object (``packs/<id>``, a random id, never rewritten) when the batch
ends. Such a blob's key says where it lies: ``<hash>@<pack id>:<offset>:<length>`` (a
*located key*). The metadata records it like any key, so a reader finds the blob with one
ranged read and no lookup, and knows that it exists without asking the store. Keys are
compared by their hash (:func:`content_hash`): the same bytes in two packs are the same value.

BLAKE3 is a cryptographic hash that runs at several GB/s on one core (SHA-256: about 2 GB/s),
which matters because every artifact is hashed when stored and again when read back. Stores
written before ketch used BLAKE3 have SHA-256 keys of the same length; those blobs still read.
"""

from __future__ import annotations

import io
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import BinaryIO

import blake3

from ..exceptions import DataIntegrityError, KetchException
from ._storage import Buffer, Storage

_PREFIX = "blobs"
_HEX = frozenset("0123456789abcdef")
_LOCATED = re.compile(r"([0-9a-f]{64})@([0-9a-f]{32}):([0-9]+):([0-9]+)\Z")
SMALL_BLOB_BYTES = 1 << 20  # in a remote store, smaller blobs go into the batch's pack
PACK_FLUSH_BYTES = 16 << 20  # a pack this large is written before its batch ends


def content_hash(key: str) -> str:
    """The hash of the bytes a key names (a located key's first part): equal for equal bytes.

    >>> content_hash("ab" * 32 + "@" + "0" * 32 + ":0:5") == "ab" * 32
    True
    """
    return key[:64]


def _pack_path(pack_id: str) -> str:
    return f"packs/{pack_id[:2]}/{pack_id[2:]}"


class _Staged:
    """The small blobs of a batch not yet written: one buffer, and where each lies in it."""

    def __init__(self) -> None:
        self.pack_id = os.urandom(16).hex()
        self.data = bytearray()
        self.keys: dict[str, str] = {}  # hash -> located key
        self.labels: list[str] = []

    def add(self, digest: str, parts: Sequence[Buffer], size: int, label: str) -> str:
        found = self.keys.get(digest)
        if found is None:
            found = f"{digest}@{self.pack_id}:{len(self.data)}:{size}"
            for part in parts:
                self.data += memoryview(part).cast("B")
            self.keys[digest] = found
        if label:
            self.labels.append(label)
        return found


def blob_hash(parts: Sequence[Buffer]) -> str:
    """The key a blob made of ``parts`` gets."""
    digest = blake3.blake3()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


def _legacy_hash(data: Buffer) -> str:
    import hashlib  # only stores written before BLAKE3 need it

    return hashlib.sha256(data).hexdigest()


class BlobStore:
    """Immutable blobs stored once per distinct content, checked against their key on read."""

    def __init__(self, storage: Storage, *, origin: str = "") -> None:
        self.storage = storage
        self.origin = origin  # the machine that wrote these blobs, where not this one
        self.remote = bool(getattr(storage, "remote", False))
        self._local = threading.local()  # each thread batches on its own

    @staticmethod
    def _path(key: str) -> str:
        return f"{_PREFIX}/{key[:2]}/{key[2:]}"

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Gather the small blobs put within the block (in this thread) into one object,
        written when the block ends; nothing is written if the block raises. A key returned
        inside the block must not be recorded anywhere before the block has ended. A no-op
        for a local store (its own pack takes small blobs without a file each)."""
        if not self.remote or getattr(self._local, "staged", None) is not None:
            yield
            return
        self._local.staged = _Staged()
        try:
            yield
            self.flush()
        finally:
            self._local.staged = None

    def flush(self) -> None:
        """Write the blobs of this thread's batch gathered so far (one request)."""
        staged: _Staged | None = getattr(self._local, "staged", None)
        if staged is None or not staged.data:
            return
        try:
            self.storage.put(_pack_path(staged.pack_id), [staged.data])
        except KetchException as exc:
            raise _naming(exc, staged.labels) from None
        self._local.staged = _Staged()

    def put(self, parts: Sequence[Buffer], *, pack: bool = True, label: str = "") -> str:
        """Store the concatenation of ``parts`` unless it is already there; return its key.

        A stored object of another size (truncated by a crash of the machine) is replaced.
        ``pack=False`` keeps the blob in a file of its own (code packages: users open them).
        ``label`` names the blob in errors (``artifact 'model'``).
        """
        key = blob_hash(parts)
        size = sum(memoryview(p).nbytes for p in parts)
        staged: _Staged | None = getattr(self._local, "staged", None) if pack else None
        if staged is not None and size < SMALL_BLOB_BYTES:
            located = staged.add(key, parts, size, label)
            if len(staged.data) >= PACK_FLUSH_BYTES:
                self.flush()
            return located
        path = self._path(key)
        try:
            # Remote: no request to ask first, for a small blob (writing it again is cheaper).
            if (self.remote and size < SMALL_BLOB_BYTES) or self.storage.size(path) != size:
                self.storage.put(path, parts, pack=pack)
        except KetchException as exc:
            raise _naming(exc, [label] if label else []) from None
        return key

    def put_bytes(self, data: Buffer, *, pack: bool = True, label: str = "") -> str:
        return self.put([data], pack=pack, label=label)

    def get(self, key: str, *, verify: bool = True) -> memoryview:
        """The blob's bytes; raises :class:`DataIntegrityError` if missing or corrupt."""
        located = _LOCATED.match(key)
        if located is not None:
            return self._get_located(key, *located.groups(), verify=verify)
        path = self._checked_path(key)

        def good(view: memoryview) -> bool:
            return not verify or blob_hash([view]) == key or _legacy_hash(view) == key

        return self._read(key, path, slice(None), good)

    def _read(
        self, key: str, path: str, part: slice, good: Callable[[memoryview], bool]
    ) -> memoryview:
        """``part`` of the object at ``path``, which holds ``key``'s bytes, once ``good``
        accepts it. A damaged local copy of a remote object is dropped and read once more."""
        for attempt in (1, 2):
            try:
                view = self.storage.get(path)[part]
            except KeyError:
                raise self._missing(key) from None
            if good(view):
                return view
            if attempt == 1 and not self._evict(path):
                break
        raise _corrupt(key)

    def _evict(self, path: str) -> bool:
        """Drop a damaged local copy of a remote object (read again from the store next)."""
        evict = getattr(self.storage, "evict", None)
        return bool(evict is not None and evict(path))

    def _get_located(
        self, key: str, digest: str, pack_id: str, offset: str, length: str, *, verify: bool
    ) -> memoryview:
        start, end = int(offset), int(offset) + int(length)
        staged: _Staged | None = getattr(self._local, "staged", None)
        if staged is not None and staged.pack_id == pack_id:
            return memoryview(staged.data)[start:end]

        def good(view: memoryview) -> bool:
            return len(view) == end - start and (not verify or blob_hash([view]) == digest)

        return self._read(key, _pack_path(pack_id), slice(start, end), good)

    def open(self, key: str) -> BinaryIO:
        """The blob as a readable file object, for a blob too large to hold whole.

        The bytes are hashed as they are read: reading to the end raises
        :class:`DataIntegrityError` if they do not match the key (a caller that stops early
        has read bytes not yet checked). Raises it too when the blob is missing.

        >>> with blobs.open(key) as reader:  # doctest: +SKIP
        ...     for chunk in iter(lambda: reader.read(1 << 20), b""):
        ...         sink.write(chunk)
        """
        if _LOCATED.match(key):
            return io.BytesIO(self.get(key))  # small: read whole, and checked
        path = self._checked_path(key)
        try:
            raw = self.storage.open(path)
        except KeyError:
            raise self._missing(key) from None
        return io.BufferedReader(_CheckedReader(raw, key, lambda: self.storage.open(path)))

    def _checked_path(self, key: str) -> str:
        if len(key) != 64 or not _HEX.issuperset(key):
            raise DataIntegrityError(f"'{key}' is not a valid blob key.")
        return self._path(key)

    def _missing(self, key: str) -> DataIntegrityError:
        root = getattr(self.storage, "root", None)
        if root is not None and not root.is_dir():
            machine = f" (by a run on host {self.origin})" if self.origin else ""
            return DataIntegrityError(
                f"Blob {key} cannot be read: it was stored in the datastore {root}{machine}, "
                "and that directory does not exist on this machine.",
                hint="A run is read where its bytes are: a team that shares a run database "
                "needs a datastore every reader reaches (KETCH_DATASTORE_URL=s3://BUCKET/PREFIX; "
                "see 'Sharing runs with a team' in the README). Or read it where it ran.",
            )
        where = getattr(self.storage, "where", None)
        place = getattr(where, "url", None) or root or "the datastore"
        return DataIntegrityError(
            f"Blob {key} is missing from {place}.",
            hint="The datastore may have been partly deleted or copied; re-run (or resume) "
            "the run that made it.",
        )

    def _object(self, key: str) -> str:
        """The stored object that holds ``key``'s bytes (its pack, for a located key)."""
        located = _LOCATED.match(key)
        return self._path(key) if located is None else _pack_path(located.group(2))

    def location(self, key: str) -> str:
        """The URL (object store) or file (directory) of the object that holds ``key``."""
        where = getattr(self.storage, "where", None)
        base = getattr(where, "url", None) or str(getattr(self.storage, "root", "memory:/"))
        return f"{base}/{self._object(key)}"

    def exists(self, key: str) -> bool:
        return self.storage.exists(self._object(key))

    def missing(self, keys: Iterable[str]) -> set[str]:
        """Those of ``keys`` whose blob is absent, in one batched look (see `Storage.missing`);
        whether present ones read back right is known only when they are read."""
        objects: dict[str, list[str]] = {}
        for key in keys:
            objects.setdefault(self._object(key), []).append(key)
        return {key for path in self.storage.missing(objects) for key in objects[path]}


def read_tail(blobs: BlobStore, key: str, limit: int) -> tuple[bytes, int]:
    """The last ``limit`` bytes of blob ``key`` and the blob's whole size, read in pieces (a
    log of gigabytes is never held whole: at most twice ``limit`` and one piece are) and
    checked against the key; raises :class:`DataIntegrityError` as `BlobStore.get` does."""
    tail, size = bytearray(), 0
    with blobs.open(key) as reader:
        for chunk in iter(lambda: reader.read(_PIECE), b""):
            size += len(chunk)
            tail += chunk
            if len(tail) > 2 * limit:
                del tail[:-limit]
    return (bytes(tail[-limit:]) if limit > 0 else b""), size


_PIECE = 1 << 20


def _naming(exc: KetchException, labels: list[str]) -> KetchException:
    """``exc`` with the blobs it failed to store named (``artifacts 'x', 'y'``)."""
    if labels:
        shown = ", ".join(dict.fromkeys(labels))
        exc.detail = f"{exc.detail} (storing {shown})"
    return exc


def _corrupt(key: str) -> DataIntegrityError:
    return DataIntegrityError(
        f"Blob {key} is corrupt: its content does not match its key.",
        hint="The file was modified or damaged on disk; re-run the step that made it.",
    )


class _CheckedReader(io.RawIOBase):
    """Reads a stored blob through, hashing it; at its end, checks the hash against the key.

    ``reopen`` reads the blob again from its start: only a store written before BLAKE3 (SHA-256
    keys) needs a second pass, to check the other hash.
    """

    def __init__(self, raw: BinaryIO, key: str, reopen: Callable[[], BinaryIO]) -> None:
        self._raw = raw
        self._key = key
        self._reopen = reopen
        self._digest = blake3.blake3()
        self._checked = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Buffer) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        n = self._raw.readinto(view)  # type: ignore[attr-defined]
        if n:
            self._digest.update(view[:n])
        elif not self._checked:
            self._check()
        return int(n or 0)

    def _check(self) -> None:
        self._checked = True
        if self._digest.hexdigest() == self._key:
            return
        import hashlib  # only stores written before BLAKE3 need it

        legacy = hashlib.sha256()
        with self._reopen() as again:
            for chunk in iter(lambda: again.read(1 << 20), b""):
                legacy.update(chunk)
        if legacy.hexdigest() != self._key:
            raise _corrupt(self._key)

    def close(self) -> None:
        self._raw.close()
        super().close()
