"""The code package: the flow's source files, stored once per distinct content with each run."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

_SKIP_DIRS = {"__pycache__", "node_modules", "site-packages", "build", "dist"}
SUFFIXES = (".py",)
MAX_FILES = 5000


def _skip_dir(path: Path) -> bool:
    return (
        path.name.startswith(".")
        or path.name in _SKIP_DIRS
        or path.name.endswith(".egg-info")
        or (path / "pyvenv.cfg").exists()
    )


def package_files(flow_file: Path) -> list[Path]:
    """The files a run's code package holds: every ``.py`` file under the flow's directory."""
    root = flow_file.resolve().parent
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not _skip_dir(here / d))
        for name in sorted(filenames):
            if name.endswith(SUFFIXES):
                found.append(here / name)
                if len(found) >= MAX_FILES:
                    return found
    return found


def build_code_package(flow_file: Path) -> bytes:
    """A deterministic gzip tarball (sorted names, zero mtimes) so unchanged code dedups."""
    root = flow_file.resolve().parent
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", compresslevel=6) as tar:
        for path in package_files(flow_file):
            data = path.read_bytes()
            info = tarfile.TarInfo(str(path.relative_to(root)))
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def read_package(data: bytes) -> dict[str, bytes]:
    """Name -> content of every file in a code package."""
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            fh = tar.extractfile(member)
            if fh is not None:
                files[member.name] = fh.read()
    return files
