"""Before a run starts: can the store's directory take its writes? And the temporary files
that writers killed mid-write left behind.

A run that cannot write its records fails only when it writes them, after its tasks ran; these
checks make it fail first, with one message that names the place and the fix.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

from .._process import pid_alive
from ..exceptions import StoreAccessError, StoreFullError
from ._storage import create_temporary, temporary_writer

MIN_FREE_BYTES = 1 << 20  # less, and a run is refused: it stores its code and records first
_PROBE = b"\0" * 4096  # one block: an empty file fits where no byte does
STALE_AFTER_S = 10 * 60  # a temporary file no live process of this host has written for this long
ABANDONED_AFTER_S = 24 * 3600  # ... or that nobody has written for a day
SWEEP_STAMP = ".swept"  # its time: when the store was last swept of temporary files


def preflight(root: Path, *, now: float | None = None) -> None:
    """Check, before a run starts, that the datastore at ``root`` can take its writes (see
    `check_writable`), and now and then remove what killed writers left (`sweep_temporaries`).

    Sweeping walks the store's directories (about 25 ms for 256 blob directories and 1,000
    live-card directories, in the page cache), so it is done at most once every
    `STALE_AFTER_S`, as a file younger than that is never removed anyway.
    """
    check_writable(root)
    now = time.time() if now is None else now
    stamp = root / SWEEP_STAMP
    try:
        due = now - stamp.stat().st_mtime >= STALE_AFTER_S
    except FileNotFoundError:
        due = True
    if due:
        sweep_temporaries(root, now=now)
        stamp.touch()
        os.utime(stamp, (now, now))


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


def sweep_temporaries(root: Path, *, now: float | None = None) -> list[Path]:
    """Remove the temporary files (``.tmp-<pid>-...``) that writers left in the store under
    ``root`` when they were killed mid-write; returns those removed.

    Other runs may be writing to the same store right now, so a file is removed only when no
    writer can still be writing it: its writer's pid is not alive on this host and nothing has
    written it for `STALE_AFTER_S` (a writer on another host sharing the store over a network
    file system has a pid that means nothing here, but it keeps the file's time fresh while it
    writes), or nothing has written it for `ABANDONED_AFTER_S` (a pid reused since).
    """
    now = time.time() if now is None else now
    removed: list[Path] = []
    for path in _temporaries(root):
        try:
            idle = now - path.stat().st_mtime
        except FileNotFoundError:  # renamed into place meanwhile
            continue
        pid = temporary_writer(path.name)
        live = pid is not None and pid_alive(pid)
        if idle >= ABANDONED_AFTER_S or (idle >= STALE_AFTER_S and not live):
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            removed.append(path)
    return removed


def _temporaries(root: Path) -> list[Path]:
    """The ``.tmp-*`` files under ``root``: in the directories of loose blobs (``blobs/ab/``)
    and of live cards (``cards/live/<run>/<task>/``); the pack makes none."""
    found: list[Path] = []
    todo = [root]
    while todo:
        directory = todo.pop()
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.name.startswith(".tmp-") and entry.is_file(follow_symlinks=False):
                found.append(Path(entry.path))
            elif entry.is_dir(follow_symlinks=False) and entry.path != f"{root}/packs":
                todo.append(Path(entry.path))
    return found
