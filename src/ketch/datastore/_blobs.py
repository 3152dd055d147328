"""Content-addressed blobs over a :class:`Storage`: the key is the BLAKE3 hash of the bytes.

BLAKE3 is a cryptographic hash that runs at several GB/s on one core (SHA-256: about 2 GB/s),
which matters because every artifact is hashed when stored and again when read back. Stores
written before ketch used BLAKE3 have SHA-256 keys of the same length; those blobs still read.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from typing import BinaryIO

import blake3

from ..exceptions import DataIntegrityError
from ._storage import Buffer, Storage

_PREFIX = "blobs"
_HEX = frozenset("0123456789abcdef")


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

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    @staticmethod
    def _path(key: str) -> str:
        return f"{_PREFIX}/{key[:2]}/{key[2:]}"

    def put(self, parts: Sequence[Buffer], *, pack: bool = True) -> str:
        """Store the concatenation of ``parts`` unless it is already there; return its key.

        A stored object of another size (truncated by a crash of the machine) is replaced.
        ``pack=False`` keeps the blob in a file of its own (code packages: users open them).
        """
        key = blob_hash(parts)
        path = self._path(key)
        if self.storage.size(path) != sum(memoryview(p).nbytes for p in parts):
            self.storage.put(path, parts, pack=pack)
        return key

    def put_bytes(self, data: Buffer, *, pack: bool = True) -> str:
        return self.put([data], pack=pack)

    def get(self, key: str, *, verify: bool = True) -> memoryview:
        """The blob's bytes; raises :class:`DataIntegrityError` if missing or corrupt."""
        try:
            view = self.storage.get(self._checked_path(key))
        except KeyError:
            raise _missing(key) from None
        if verify and blob_hash([view]) != key and _legacy_hash(view) != key:
            raise _corrupt(key)
        return view

    def open(self, key: str) -> BinaryIO:
        """The blob as a readable file object, for a blob too large to hold whole.

        The bytes are hashed as they are read: reading to the end raises
        :class:`DataIntegrityError` if they do not match the key (a caller that stops early
        has read bytes not yet checked). Raises it too when the blob is missing.

        >>> with blobs.open(key) as reader:  # doctest: +SKIP
        ...     for chunk in iter(lambda: reader.read(1 << 20), b""):
        ...         sink.write(chunk)
        """
        path = self._checked_path(key)
        try:
            raw = self.storage.open(path)
        except KeyError:
            raise _missing(key) from None
        return io.BufferedReader(_CheckedReader(raw, key, lambda: self.storage.open(path)))

    def _checked_path(self, key: str) -> str:
        if len(key) != 64 or not _HEX.issuperset(key):
            raise DataIntegrityError(f"'{key}' is not a valid blob key.")
        return self._path(key)

    def exists(self, key: str) -> bool:
        return self.storage.exists(self._path(key))

    def missing(self, keys: Iterable[str]) -> set[str]:
        """Those of ``keys`` whose blob is absent, in one batched look (see `Storage.missing`);
        whether present ones read back right is known only when they are read."""
        paths = {self._path(key): key for key in keys}
        return {paths[path] for path in self.storage.missing(paths)}


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


def _missing(key: str) -> DataIntegrityError:
    return DataIntegrityError(
        f"Blob {key} is missing from the datastore.",
        hint="The .ketch directory may have been partly deleted or copied.",
    )


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
