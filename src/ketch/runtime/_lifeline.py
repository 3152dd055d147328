"""Processes that end with the run: no task, and nothing a task started, outlives its scheduler.

Three mechanisms, each covering what the one before cannot:

* **Parent-death signal** (Linux ``prctl(PR_SET_PDEATHSIG)``): the kernel signals a process
  when its parent dies, even by ``kill -9``. The fork server asks for ``SIGTERM`` when the
  scheduler dies (it then ends its tasks, see ``_forkserver``); a task asks for ``SIGKILL``
  when the process that started it (the fork server, or the scheduler in spawn mode) dies.
  The request is made right after the fork and is followed by a check that the parent is still
  the one expected: a parent that died before the request was made sends no signal.
* **A process group per task**: each task starts a session of its own, so that the processes
  it starts (a ``subprocess.Popen`` in a step) are in its group and end with it:
  :func:`kill_group` kills the group when the task ends, is killed, or the run stops.
* **A watcher per spawned task** (spawn mode, where no fork server outlives the scheduler to
  kill the groups): a small process forked by the task before it imports the flow waits on
  a pidfd of the task and kills the task's group when the task is gone.

On other systems than Linux only the process groups apply.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
from collections.abc import Callable
from functools import cache

_PR_SET_PDEATHSIG = 1


@cache
def _prctl() -> Callable[..., int] | None:
    """libc's ``prctl`` (loaded once: a forked task inherits it), or None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        return None
    return prctl


def prepare() -> None:
    """Load what :func:`die_with_parent` needs now, in a process that forks tasks later."""
    _prctl()


def die_with_parent(parent_pid: int, sig: int = signal.SIGKILL) -> bool:
    """Have the kernel send ``sig`` to this process when its parent dies; returns False when
    the parent is not ``parent_pid`` any more (it died before the request was made)."""
    prctl = _prctl()
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    return os.getppid() == parent_pid


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by task process ``pid``, or the process alone when it
    has not made its group yet (just forked)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    except PermissionError:  # pragma: no cover - the pid was reused by another user's group
        pass


def watch_group() -> None:
    """Fork a watcher that kills this process's group once this process has exited.

    Called by a spawned task (a session leader) before it imports the flow. The watcher is
    re-parented away at once (a double fork), so it is never a child that the step's code
    could see or wait for; it holds no file but a pidfd of the task, so the task's pipes
    close when the task exits.
    """
    if not hasattr(os, "pidfd_open"):  # pragma: no cover - not Linux
        return
    pidfd = os.pidfd_open(os.getpid())
    try:
        middle = os.fork()
        if middle == 0:
            _become_watcher(pidfd)
        os.waitpid(middle, 0)
    finally:
        os.close(pidfd)


def _become_watcher(pidfd: int) -> None:
    """In the first child: fork the watcher and exit; the watcher never returns."""
    try:
        if os.fork() == 0:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            os.closerange(0, pidfd)
            os.closerange(pidfd + 1, os.sysconf("SC_OPEN_MAX"))
            poll = select.poll()
            poll.register(pidfd, select.POLLIN)
            while not poll.poll():
                pass
            os.killpg(0, signal.SIGKILL)  # the task's group, this watcher included
    finally:
        os._exit(0)
