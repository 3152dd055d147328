"""Helpers for tests that run real flows in real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Project:
    """A throw-away project directory where flows are written and run."""

    root: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KETCH_")}
        env.update({"USER": "tester", "PYTHONUNBUFFERED": "1"})
        env.update(extra)
        return env

    def write(self, name: str, source: str) -> Path:
        path = self.root / name
        path.write_text(textwrap.dedent(source))
        return path

    def run(
        self, *args: str, timeout: float = 120, cwd: str | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """``python <args>`` in the project directory (or ``cwd``)."""
        return subprocess.run(
            [sys.executable, *args],
            cwd=cwd or self.root,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def run_id(self, name: str = "run-id") -> str:
        """The id written by the last ``--run-id-file <name>``."""
        return (self.root / name).read_text().strip()

    def ketch(
        self, *args: str, timeout: float = 120, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return self.run("-m", "ketch.cli", *args, timeout=timeout, **env)

    def client(self, code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run Python ``code`` in the project (e.g. Client API reads) and capture its output."""
        return self.run("-c", textwrap.dedent(code), timeout=timeout)


def blob_bytes(store: Path, key: str) -> bytes:
    """The stored bytes of blob ``key`` in the store at ``store`` (a ``.ketch`` directory)."""
    from ketch.datastore import LocalStorage

    return bytes(LocalStorage(store).get(f"blobs/{key[:2]}/{key[2:]}"))


def damage_blob(store: Path, key: str, data: bytes | None) -> None:
    """Overwrite blob ``key`` where it lies, as damage on disk would (its length is kept when
    it is in the pack), or with ``data=None`` make it missing."""
    from ketch.datastore import LocalStorage

    storage = LocalStorage(store)
    name = f"blobs/{key[:2]}/{key[2:]}"
    where = storage.locate(name)
    assert where is not None, f"blob {key} is not in {store}"
    path, offset, length = where
    if path.parent.name != "packs":
        path.unlink() if data is None else path.write_bytes(data)
        return
    if data is None:  # spoil the magic of every index record of the key
        needle = len(name).to_bytes(2, "little") + name.encode()
        for index in path.parent.glob("index-*"):
            raw = bytearray(index.read_bytes())
            index.write_bytes(raw.replace(b"KP" + needle, b"XX" + needle))
        return
    with path.open("r+b") as fh:
        fh.seek(offset)
        fh.write(data[:length].ljust(length, b"\0"))
