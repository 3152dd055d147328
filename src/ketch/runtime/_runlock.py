"""Is a run's scheduler alive? It holds a lock on a file of the store while the run goes on.

The scheduler creates ``<store>/runs/<flow>/<run id>.lock`` before the run is recorded and
holds an exclusive ``flock`` on it until the run's end is recorded; then it removes the file.
The kernel drops the lock when the process ends, however it ends (``kill -9`` included), so
a ``running`` run whose lock can be taken has lost its scheduler: the file of a killed run
stays, unlocked. The file also names the scheduler (pid, host, and the process's start time,
which tells a reused pid apart) for messages, and for filesystems without ``flock``.

A run without the file (started by an older ketch, or by a scheduler whose store directory is
not this one) is judged by its record: the scheduler's pid when it ran on this host, else its
heartbeat (see :func:`ketch.metadata.scheduler_gone`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from ..metadata import scheduler_gone
from ..metadata._records import RunRecord

LOCKS_DIR = "runs"


@dataclass(frozen=True)
class SchedulerProcess:
    """Where a run's scheduler runs."""

    pid: int | None
    host: str | None
    start_time: int | None = None  # clock ticks after boot (/proc/PID/stat), when known

    def alive_here(self) -> bool:
        """True when this process exists on this host (and is the same process)."""
        if self.pid is None or self.host != socket.gethostname():
            return False
        started = process_start_time(self.pid)
        if started is None:
            return False
        return self.start_time is None or started == self.start_time

    def describe(self) -> str:
        return f"process {self.pid or '?'} on {self.host or 'an unknown host'}"


def lock_path(home: Path, flow_name: str, run_id: int) -> Path:
    return home / LOCKS_DIR / flow_name / f"{run_id}.lock"


def process_start_time(pid: int) -> int | None:
    """The start time of process ``pid`` in clock ticks after boot, or None when there is no
    such process (or no ``/proc``)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (command) "
    return int(fields[19])  # field 22 of proc(5), counted from the state (field 3)


class RunLock:
    """The lock a scheduler holds for its run (see the module's docstring)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, home: Path, flow_name: str, run_id: int) -> RunLock | None:
        """Create and lock the run's file; None where the store cannot hold one (then a
        resume judges the run by its record)."""
        path = lock_path(home, flow_name, run_id)
        pid = os.getpid()
        me = {"pid": pid, "host": socket.gethostname(), "start_time": process_start_time(pid)}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pass  # no flock on this filesystem: the file still names the scheduler
        os.write(fd, json.dumps(me).encode())
        return cls(path, fd)

    def release(self) -> None:
        """Remove the file, then drop the lock (the run's end is recorded by now)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None


def running_scheduler(home: Path, run: RunRecord) -> SchedulerProcess | None:
    """The scheduler of ``run`` if it is still running, else None."""
    if run.status != "running":
        return None
    recorded = SchedulerProcess(run.scheduler_pid, run.hostname)
    try:
        fd = os.open(lock_path(home, run.flow_name, run.run_id), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:  # no lock file: the record decides
        return None if scheduler_gone(run) else recorded
    try:
        named = _read_owner(fd) or recorded
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return named  # the scheduler holds it
        except OSError:  # this filesystem has no flock: trust the pid and its start time
            return named if named.alive_here() else None
        return None  # nobody holds it: the scheduler is gone
    finally:
        os.close(fd)


def _read_owner(fd: int) -> SchedulerProcess | None:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"null")
        return SchedulerProcess(int(data["pid"]), str(data["host"]), data.get("start_time"))
    except (OSError, ValueError, TypeError, KeyError):
        return None
