"""Spare interpreters: in spawn mode, the next task's interpreter starts while this one runs.

A task in spawn mode pays for a fresh interpreter and the flow's import (seconds with PyTorch)
before its step begins. When the executor starts such a task it also starts a spare: a fresh
interpreter with the same environment that imports the flow and then waits, holding the
stdout and stderr pipes of the task it will become. The next task with that environment takes
it and sends only its spec and its result pipe; it is still a fresh process of its own, as in
Metaflow, and whatever the import printed is in that task's log.

One spare is kept per environment (a GPU task's ``CUDA_VISIBLE_DEVICES`` is part of it, so a
spare has imported the flow with the devices its task gets). None are kept when the flow
imports JAX or TensorFlow, whose GPU runtimes take most of a GPU's memory as they start: an
idle spare would hold it.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import sys
from dataclasses import dataclass

from ._forksafety import greedy_framework_imported
from ._gpu import original_environ
from ._lifeline import kill_group
from ._spec import TaskSpec

EnvKey = tuple[tuple[str, str], ...]
READY = b"ready"  # what a spare sends once its import of the flow succeeded


@dataclass
class Spare:
    """An interpreter that imported the flow and waits for its task."""

    proc: subprocess.Popen[bytes]
    sock: socket.socket
    stdout: int  # read ends of the pipes the process already writes to
    stderr: int
    imported: bool = False  # it said so: its import of the flow succeeded

    def ready(self) -> bool:
        """Whether the spare has imported the flow and waits; never blocks. A spare still
        importing is not ready: if its import failed after it was handed a task, the task
        would fail with it, so that task starts afresh instead and the spare waits."""
        if not self.imported and select.select([self.sock], [], [], 0)[0]:
            with contextlib.suppress(OSError):
                self.imported = self.sock.recv(16) == READY
        return self.imported and self.proc.poll() is None

    def hand_over(self, fds: list[int]) -> None:
        """Send the task's spec and result pipe: the process runs the task from here on."""
        socket.send_fds(self.sock, [b"go"], fds)
        self.sock.close()

    def discard(self) -> None:
        """End an unused spare: it sees its socket close and exits (or is killed)."""
        self.sock.close()
        for fd in (self.stdout, self.stderr):
            os.close(fd)
        if self.proc.poll() is None:
            kill_group(self.proc.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)


class SparePool:
    """At most one spare per task environment."""

    def __init__(self) -> None:
        self._spares: dict[EnvKey, Spare] = {}

    @property
    def enabled(self) -> bool:
        return not greedy_framework_imported()

    def take(self, spec: TaskSpec, fds: list[int]) -> Spare | None:
        """Hand ``spec``'s task (its spec and result pipe: ``fds``) to the spare started for
        its environment; None when there is none, or it died (its import failed)."""
        key = _key(spec)
        spare = self._spares.pop(key, None)
        if spare is None:
            return None
        if spare.proc.poll() is None and not spare.ready():  # still importing: keep it
            self._spares[key] = spare
            return None
        try:
            if spare.proc.poll() is not None:
                raise ConnectionError("the spare exited")
            spare.hand_over(fds)
        except OSError:
            spare.discard()
            return None
        return spare

    def prepare(self, spec: TaskSpec) -> None:
        """Start a spare for the next task with ``spec``'s environment, unless one waits."""
        key = _key(spec)
        if key in self._spares or not self.enabled:
            return
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        (out_r, out_w), (err_r, err_w) = os.pipe(), os.pipe()
        fds = [child.fileno(), out_w, err_w]
        cmd = [spec.python or sys.executable, "-m", "ketch.runtime._spawn", "--spare"]
        cmd.append(str(os.getpid()))
        cmd += [*map(str, fds), spec.flow_file, spec.flow_class]
        env = {**original_environ(os.environ), **spec.env}
        try:
            proc = subprocess.Popen(
                cmd, pass_fds=fds, cwd=spec.cwd or None, env=env, start_new_session=True
            )
        except OSError:
            for fd in (out_r, err_r):
                os.close(fd)
            parent.close()
            return
        finally:
            child.close()
            os.close(out_w)
            os.close(err_w)
        for fd in (out_r, err_r):
            os.set_blocking(fd, False)
        self._spares[key] = Spare(proc, parent, out_r, err_r)

    def close(self) -> None:
        for spare in self._spares.values():
            spare.discard()
        self._spares.clear()


def _key(spec: TaskSpec) -> EnvKey:
    return (*sorted(spec.env.items()), ("", spec.python or ""))  # the interpreter too
