"""Where a task process gets its flow: the flow file, or the run's code package.

A local task loads the flow file the run started from (the fast path: the fork server has it
imported already). A task on another machine has the datastore and nothing else, so it loads
the flow from the run's code package (the ``.py`` files of the flow's directory, stored at run
start, see ``datastore._code``): unpacked once per package key into a cache directory of this
machine and user, then imported from there like the flow file itself. The package's directory
goes first on ``sys.path``, so the flow's own modules import as they did where the run started.
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from ..datastore import BlobStore, open_blobs, read_package
from ..exceptions import FlowDefinitionError
from ..flow._load import load_flow_class
from ._spec import TaskSpec

# Flow classes loaded from a package in this process, by (package key, flow class): a process
# that runs several tasks imports each package once.
_loaded: dict[tuple[str, str], Any] = {}


def uses_package(spec: TaskSpec) -> bool:
    """Whether the task loads its flow from the code package: when asked to, or when the
    flow file is not here (another machine, or it was moved since the run started)."""
    if spec.code_package is None:
        return False
    return spec.load_from_package or not os.path.isfile(spec.flow_file)


def task_flow_class(spec: TaskSpec) -> Any:
    """The flow class ``spec``'s task runs, from the flow file or from the code package."""
    if not uses_package(spec):
        return load_flow_class(spec.flow_file, spec.flow_class)
    assert spec.code_package is not None
    blobs = open_blobs(spec.datastore_url, read_only=True)
    return package_flow_class(blobs, spec.code_package, spec.flow_file, spec.flow_class)


def package_flow_class(blobs: BlobStore, key: str, flow_file: str, flow_class: str) -> Any:
    """Import ``flow_class`` from the code package ``key``, where the flow file was ``flow_file``
    (the package holds its directory, so its file name is the same inside)."""
    loaded = _loaded.get((key, flow_class))
    if loaded is None:
        root = unpack_package(blobs, key, cache_root())
        loaded = load_flow_class(root / Path(flow_file).name, flow_class)
        _loaded[key, flow_class] = loaded
    return loaded


def package_dir(spec: TaskSpec) -> Path | None:
    """The unpacked code package of ``spec``'s run, if this machine has it."""
    if spec.code_package is None:
        return None
    path = cache_root() / spec.code_package
    return path if path.is_dir() else None


@functools.cache
def cache_root() -> Path:
    """The directory of unpacked code packages: ``ketch-code-<uid>`` in the temporary
    directory, kept private. Where that name is taken by something this user does not own
    alone, a fresh private directory serves (the package is then unpacked once per process)."""
    root = Path(tempfile.gettempdir()) / f"ketch-code-{os.getuid()}"
    try:
        root.mkdir(mode=0o700, exist_ok=True)
        info = root.lstat()
    except OSError:
        return Path(tempfile.mkdtemp(prefix="ketch-code-"))
    private = info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if not stat.S_ISDIR(info.st_mode) or not private:
        return Path(tempfile.mkdtemp(prefix="ketch-code-"))
    return root


def unpack_package(blobs: BlobStore, key: str, root: Path) -> Path:
    """Unpack code package ``key`` into ``root/<key>`` unless it is there; its directory.

    The files are written into a temporary directory that is then renamed into place, so the
    directory of a key is whole or absent, even with tasks unpacking it at the same time.
    """
    target = root / key
    if target.is_dir():
        return target
    files = read_package(bytes(blobs.get(key)))  # checked against its key
    staging = Path(tempfile.mkdtemp(prefix=f".{key[:16]}-", dir=root))
    try:
        for name, data in files.items():
            path = staging / _member(name, key)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():  # else another process unpacked it first: use theirs
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _member(name: str, key: str) -> PurePosixPath:
    """A package member's path, refused where it would land outside the package."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise FlowDefinitionError(
            f"Code package {key} holds a file outside its directory: {name!r}.",
            hint="The package was not written by ketch; run the flow again to store a new one.",
        )
    return path
