"""Real read-only and full file systems for tests, made with mount(2) (the tests run as root).

``read_only_view(src, dst)`` bind-mounts ``src`` at ``dst`` and remounts it read-only: the kernel
refuses every write there (EROFS), to root too. ``full_disk(dst)`` mounts a 2 MiB tmpfs at
``dst``; ``fill(dst)`` then writes a file until the disk is full (ENOSPC). Both unmount on exit.
Where mounting is not allowed (EPERM: not root, or a container without CAP_SYS_ADMIN) the test
is skipped, saying so; any other failure is an error.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

_MS_RDONLY = 1
_MS_REMOUNT = 32
_MS_BIND = 4096
_MNT_DETACH = 2
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _mount(source: str, target: Path, fstype: str | None, flags: int, data: str = "") -> None:
    if _libc.mount(
        source.encode(),
        str(target).encode(),
        fstype.encode() if fstype else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    ):
        err = ctypes.get_errno()
        if err == errno.EPERM:
            pytest.skip(f"mounting {target} is not permitted here (EPERM): run the tests as root")
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def _umount(target: Path) -> None:
    if _libc.umount2(str(target).encode(), _MNT_DETACH):
        err = ctypes.get_errno()
        raise OSError(err, f"umount {target}: {os.strerror(err)}")


@contextmanager
def read_only_view(src: Path, dst: Path) -> Iterator[Path]:
    """``src`` seen read-only at ``dst`` (made if missing)."""
    dst.mkdir(parents=True, exist_ok=True)
    _mount(str(src), dst, None, _MS_BIND)
    try:
        _mount("none", dst, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY)
        yield dst
    finally:
        _umount(dst)


@contextmanager
def full_disk(dst: Path, size: str = "2m") -> Iterator[Path]:
    """A small tmpfs at ``dst`` (made if missing); `fill` it to make it full."""
    dst.mkdir(parents=True, exist_ok=True)
    _mount("tmpfs", dst, "tmpfs", 0, f"size={size}")
    try:
        yield dst
    finally:
        _umount(dst)


def fill(directory: Path) -> None:
    """Write ``directory/filler`` until the disk says it is full."""
    chunk = b"\0" * 65536
    with open(directory / "filler", "wb", buffering=0) as fh:
        while True:
            try:
                fh.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    for size in (4096, 512, 1):  # the last partial blocks
        with open(directory / "filler", "ab", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    assert os.statvfs(directory).f_bfree == 0
