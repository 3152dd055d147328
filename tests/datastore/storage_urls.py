"""URLs of each scheme ``open_storage`` knows, for a store of one test's own."""

from __future__ import annotations

from pathlib import Path

SCHEMES = ["path", "file", "memory"]  # path: a plain directory path, no scheme


def storage_url(kind: str, tmp_path: Path) -> str:
    """A URL of scheme ``kind`` (one of `SCHEMES`) for a store under ``tmp_path``."""
    root = tmp_path / "store dir"  # a space: file URLs quote it
    if kind == "path":
        return str(root)
    if kind == "file":
        return root.as_uri()
    return f"memory://{tmp_path.name}"  # a name no other test uses
