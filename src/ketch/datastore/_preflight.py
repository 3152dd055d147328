"""Before a run starts: can the store's directory take its writes?

A run that cannot write its records fails only when it writes them, after its tasks ran; these
checks make it fail first, with one message that names the place and the fix.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from ..exceptions import StoreAccessError, StoreFullError
from ._storage import create_temporary

MIN_FREE_BYTES = 1 << 20  # less, and a run is refused: it stores its code and records first
_PROBE = b"\0" * 4096  # one block: an empty file fits where no byte does


def preflight(root: Path) -> None:
    """Check, before a run starts, that the datastore at ``root`` can take its writes (see
    `check_writable`)."""
    check_writable(root)


def check_writable(directory: Path, *, what: str = "the ketch store") -> None:
    """Raise unless a file can be written in ``directory`` (made if missing) and its disk has
    `MIN_FREE_BYTES` free.

    Raises
    ------
    ketch.exceptions.StoreFullError
        The disk is full, or has less than `MIN_FREE_BYTES` free.
    ketch.exceptions.StoreAccessError
        The directory cannot be made or written (a read-only mount, ``/proc``, permissions).
    """
    try:
        fd, tmp = create_temporary(os.fspath(directory))
        try:
            os.write(fd, _PROBE)
        finally:
            os.close(fd)
            os.unlink(tmp)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise _full(directory, what) from None
        raise StoreAccessError(
            f"{what.capitalize()} at {directory} cannot be written: creating a file there "
            f"failed: {exc.strerror}.",
            hint="Run from a directory you can write to, or set KETCH_HOME to a writable "
            "directory. Commands that only read (ketch runs, dump, logs, the Client) work on "
            "a read-only store.",
        ) from None
    if free_bytes(directory) < MIN_FREE_BYTES:
        raise _full(directory, what)


def free_bytes(directory: Path) -> int:
    """Bytes this process may still write on the disk of ``directory`` (root may use the
    blocks a file system reserves for it)."""
    stats = os.statvfs(directory)
    blocks = stats.f_bfree if os.geteuid() == 0 else stats.f_bavail
    return blocks * stats.f_frsize


def _full(directory: Path, what: str) -> StoreFullError:
    return StoreFullError(
        f"No space left on device for {what} at {directory}: a run needs at least "
        f"{MIN_FREE_BYTES >> 20} MiB free.",
        hint="Free space on that disk, or set KETCH_HOME to a directory on another disk, then "
        "run again.",
    )
