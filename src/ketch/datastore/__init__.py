"""Content-addressed storage of artifacts, logs and code packages."""

from __future__ import annotations

from typing import Any

from ..exceptions import DataIntegrityError
from ._blobs import BlobStore, blob_hash, content_hash, read_tail
from ._code import build_code_package, package_files, read_package
from ._open import (
    RunStores,
    check_reachable,
    local_path,
    open_blobs,
    open_storage,
    preflight_url,
    scheme_of,
)
from ._preflight import check_writable, free_bytes, preflight, sweep_temporaries
from ._serialize import ENCODING, Encoded, decode, encode, type_name
from ._storage import LocalStorage, MemoryStorage, Storage, is_disk_full

__all__ = [
    "ENCODING",
    "BlobStore",
    "Encoded",
    "LocalStorage",
    "MemoryStorage",
    "RunStores",
    "Storage",
    "blob_hash",
    "build_code_package",
    "check_reachable",
    "check_writable",
    "content_hash",
    "decode",
    "encode",
    "free_bytes",
    "is_disk_full",
    "local_path",
    "load_artifact",
    "load_json_object",
    "open_blobs",
    "open_storage",
    "package_files",
    "preflight",
    "preflight_url",
    "read_package",
    "read_tail",
    "scheme_of",
    "sweep_temporaries",
    "type_name",
]


def load_artifact(blobs: BlobStore, key: str) -> Any:
    """Read and unpickle one artifact blob (checked against its key)."""
    return decode(blobs.get(key))


def load_json_object(blobs: BlobStore, key: str, what: str) -> tuple[dict[str, Any] | None, str]:
    """The JSON object stored as blob ``key`` (``what`` it is, for messages), or None and why
    it cannot be read (missing or damaged, not JSON, not an object)."""
    import json

    try:
        value = json.loads(bytes(blobs.get(key)))
    except DataIntegrityError as exc:
        return None, exc.detail
    except ValueError as exc:
        return None, f"The stored {what} is not valid JSON: {exc}"
    if not isinstance(value, dict):
        return None, f"The stored {what} is malformed."
    return value, ""
