"""Content-addressed blobs over a :class:`Storage`: the key is the BLAKE3 hash of the bytes.

BLAKE3 is a cryptographic hash that runs at several GB/s on one core (SHA-256: about 2 GB/s),
which matters because every artifact is hashed when stored and again when read back. Stores
written before ketch used BLAKE3 have SHA-256 keys of the same length; those blobs still read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
        if len(key) != 64 or not _HEX.issuperset(key):
            raise DataIntegrityError(f"'{key}' is not a valid blob key.")
        try:
            view = self.storage.get(self._path(key))
        except KeyError:
            raise DataIntegrityError(
                f"Blob {key} is missing from the datastore.",
                hint="The .ketch directory may have been partly deleted or copied.",
            ) from None
        if verify and blob_hash([view]) != key and _legacy_hash(view) != key:
            raise DataIntegrityError(
                f"Blob {key} is corrupt: its content does not match its key.",
                hint="The file was modified or damaged on disk; re-run the step that made it.",
            )
        return view

    def exists(self, key: str) -> bool:
        return self.storage.exists(self._path(key))

    def missing(self, keys: Iterable[str]) -> set[str]:
        """Those of ``keys`` whose blob is absent, in one batched look (see `Storage.missing`);
        whether present ones read back right is known only when they are read."""
        paths = {self._path(key): key for key in keys}
        return {paths[path] for path in self.storage.missing(paths)}
