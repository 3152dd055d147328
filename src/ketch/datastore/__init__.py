"""Content-addressed storage of artifacts, logs and code packages."""

from __future__ import annotations

from typing import Any

from ._blobs import BlobStore, blob_hash
from ._code import build_code_package, package_files, read_package
from ._serialize import ENCODING, Encoded, decode, encode, type_name
from ._storage import LocalStorage, MemoryStorage, Storage, is_disk_full

__all__ = [
    "ENCODING",
    "BlobStore",
    "Encoded",
    "LocalStorage",
    "MemoryStorage",
    "Storage",
    "blob_hash",
    "build_code_package",
    "decode",
    "encode",
    "is_disk_full",
    "load_artifact",
    "package_files",
    "read_package",
    "type_name",
]


def load_artifact(blobs: BlobStore, key: str) -> Any:
    """Read and unpickle one artifact blob (checked against its key)."""
    return decode(blobs.get(key))
