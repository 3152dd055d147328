"""A pre-warmed process that forks one child per task.

It is forked from the launching process right after the flow module is imported, before any
thread or database connection exists, so each task starts with everything imported and pays
only for ``fork``. Protocol over a ``SOCK_SEQPACKET`` socket pair:

* parent -> server: ``pickle((req_id,))`` with four fds (spec, stdout, stderr, result);
  ``b"quit"`` ends the server.
* server -> parent: ``pickle(("pid", req_id, pid))`` after forking and
  ``pickle(("exit", req_id, wait_status))`` when the child ends.

On a machine other than the launching one (a Ray worker, see ``ketch.executors``), the server
is not forked from a process that has threads: :meth:`ForkServer.spawn` starts it in a fresh
interpreter that loads the flow from the run's code package and then serves the same way; it
first reports ``ready``, or why it cannot serve (the flow's import left it unsafe to fork, or
the flow could not be loaded).

Nothing outlives the run (see ``_lifeline``): the server runs in a session of its own (so that
a signal to the scheduler's process group reaches it only through the scheduler's death) and
ends when the scheduler does, by its socket closing or by the parent-death signal; each task
is a process group of its own, killed when the task ends and when the server ends.
"""

from __future__ import annotations

import gc
import os
import pickle
import selectors
import signal
import socket
import subprocess
import sys
import types
from typing import TYPE_CHECKING, Any

from ..datastore import blob_hash
from ..exceptions import KetchException
from ._child import read_spec, run_and_report, wire_stdio
from ._lifeline import die_with_parent, kill_group, prepare

if TYPE_CHECKING:
    from ._spec import TaskSpec


class ServerUnavailable(Exception):
    """A spawned fork server cannot serve: ``unsafe`` (the flow's import left it unsafe to
    fork, so each task needs a fresh interpreter) or not (the flow could not be loaded)."""

    def __init__(self, message: str, *, unsafe: bool) -> None:
        super().__init__(message)
        self.unsafe = unsafe


class ForkServer:
    """Handle on the fork server held by the launching process."""

    _proc: subprocess.Popen[bytes] | None = None  # a spawned server's process

    def __init__(self, flow_cls: Any) -> None:
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sys.stdout.flush()
        sys.stderr.flush()
        gc.freeze()  # what the child inherits: its collections leave it alone (no page copies)
        scheduler = os.getpid()
        pid = os.fork()
        if pid == 0:  # the server
            parent_sock.close()
            code = 0
            try:
                os.setsid()
                _serve(child_sock, flow_cls, scheduler)
            except BaseException:  # the server must never return into the caller's code
                code = 1
            os._exit(code)
        child_sock.close()
        gc.unfreeze()  # this process collects as before
        self.pid = pid
        self.sock = parent_sock

    @classmethod
    def spawn(cls, spec: TaskSpec, spec_fd: int) -> ForkServer:
        """Start a server in a fresh interpreter for the flow of ``spec`` (written to
        ``spec_fd``, see ``_executor._spec_file``); raises :class:`ServerUnavailable`."""
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fds = [child_sock.fileno(), spec_fd]
        python = spec.python or sys.executable  # a @pypi step's: its environment's
        cmd = [python, "-m", "ketch.runtime._server_spawn", str(os.getpid())]
        try:
            proc = subprocess.Popen(
                [*cmd, *(str(fd) for fd in fds)],
                pass_fds=fds,
                cwd=spec.cwd if spec.cwd and os.path.isdir(spec.cwd) else None,
                start_new_session=True,
            )
        finally:
            child_sock.close()
        server = cls.__new__(cls)
        server.pid, server.sock = proc.pid, parent_sock
        server._proc = proc
        reply = parent_sock.recv(1 << 16)
        kind, message = pickle.loads(reply) if reply else ("error", _died(proc))
        if kind != "ready":
            server.close()
            raise ServerUnavailable(message, unsafe=kind == "unsafe")
        return server

    def request(self, req_id: int, fds: list[int]) -> None:
        socket.send_fds(self.sock, [pickle.dumps((req_id,))], fds)

    def close(self) -> None:
        try:
            self.sock.send(b"quit")
        except OSError:
            pass
        try:
            if self._proc is not None:
                self._proc.wait()
            else:
                os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        self.sock.close()


def _died(proc: subprocess.Popen[bytes]) -> str:
    code = proc.wait()
    return f"the task server process exited with code {code} while loading the flow"


def _unloadable(exc: KetchException) -> str:
    """Why the flow cannot be loaded on this machine, and what a remote node needs."""
    return (
        f"The flow could not be loaded on {socket.gethostname()} from the run's code package: "
        f"{exc.format()}\n"
        "A task on another machine reads the code package and the artifacts from the "
        "datastore: use an object store (--datastore-url s3://BUCKET/PREFIX) or a directory "
        "that every node mounts at the same path."
    )


def spawned_main() -> None:
    """Entry point of a spawned server: ``python -m ketch.runtime._server_spawn PARENT SOCKET
    SPEC``. Loads the flow of the task spec in ``SPEC``, says whether it can serve, serves."""
    from ._forksafety import fork_hazards
    from ._package import task_flow_class

    parent, sock_fd, spec_fd = (int(arg) for arg in sys.argv[1:4])
    sock = socket.socket(fileno=sock_fd)
    try:
        spec = read_spec(spec_fd)
        flow_cls = task_flow_class(spec)
    except KetchException as exc:
        sock.send(pickle.dumps(("error", _unloadable(exc))))
        os._exit(1)
    except Exception as exc:  # the flow's own import failed: the task reports it in full
        sock.send(pickle.dumps(("unsafe", f"loading the flow failed: {exc!r}")))
        os._exit(1)
    hazards = fork_hazards()
    if hazards:
        sock.send(pickle.dumps(("unsafe", "; ".join(h.reason for h in hazards))))
        os._exit(0)
    sock.send(pickle.dumps(("ready", "")))
    code = 0
    try:
        _serve(sock, flow_cls, parent)
    except BaseException:
        code = 1
    os._exit(code)


def _serve(sock: socket.socket, flow_cls: Any, scheduler: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # SIGTERM (the scheduler died, or someone stops the server) only wakes the loop below,
    # which then ends every task it started.
    wake_r, wake_w = os.pipe()
    for fd in (wake_r, wake_w):
        os.set_blocking(fd, False)
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    signal.set_wakeup_fd(wake_w)
    prepare()
    if not die_with_parent(scheduler, signal.SIGTERM):
        return
    flow_cls._parameters()  # computed once here rather than in every task
    flow_cls._constants()
    blob_hash([b""])  # BLAKE3 probes the CPU on first use (slow in a VM): once here, not per task
    _lighten_fork_hooks()
    gc.freeze()  # a collection in a task then leaves every object made before it alone
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ, None)
    selector.register(wake_r, selectors.EVENT_READ, "wake")
    children: dict[int, tuple[int, int]] = {}  # pidfd -> (req_id, pid)
    try:
        _loop(sock, flow_cls, selector, children, (wake_r, wake_w))
    finally:
        _end_tasks(children)


def _loop(
    sock: socket.socket,
    flow_cls: Any,
    selector: selectors.BaseSelector,
    children: dict[int, tuple[int, int]],
    wake_fds: tuple[int, int],
) -> None:
    """Serve until the scheduler says quit, its socket closes, or SIGTERM arrives."""
    while True:
        for key, _ in selector.select():
            if key.data == "wake":
                return
            if key.data is None:
                msg, fds, _flags, _addr = socket.recv_fds(sock, 1024, 8)
                if not msg or msg == b"quit":
                    for fd in fds:
                        os.close(fd)
                    return
                (req_id,) = pickle.loads(msg)
                pid = _fork_task(sock, flow_cls, fds, wake_fds)
                for fd in fds:
                    os.close(fd)
                pidfd = os.pidfd_open(pid)
                children[pidfd] = (req_id, pid)
                selector.register(pidfd, selectors.EVENT_READ, pidfd)
                sock.send(pickle.dumps(("pid", req_id, pid)))
            else:
                pidfd = key.data
                req_id, pid = children.pop(pidfd)
                selector.unregister(pidfd)
                os.close(pidfd)
                kill_group(pid)  # what the task started ends with it (its pid is not reaped yet)
                _, status = os.waitpid(pid, 0)
                sock.send(pickle.dumps(("exit", req_id, status)))


def _end_tasks(children: dict[int, tuple[int, int]]) -> None:
    """Kill every task still running, with what it started, and reap them."""
    for _req_id, pid in children.values():
        kill_group(pid)
    for pidfd, (_req_id, pid) in children.items():
        os.close(pidfd)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    children.clear()


def _fork_task(
    sock: socket.socket, flow_cls: Any, fds: list[int], wake_fds: tuple[int, int]
) -> int:
    spec_fd, out_fd, err_fd, result_fd = fds
    server = os.getpid()
    pid = os.fork()
    if pid != 0:
        return pid
    code = 1
    try:
        os.setsid()  # the task's group: what the step starts ends with the task
        if not die_with_parent(server):
            os._exit(1)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for fd in wake_fds:
            os.close(fd)
        _restore_fork_hooks()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sock.close()
        spec = read_spec(os.dup(spec_fd))
        wire_stdio(os.dup(out_fd), os.dup(err_fd))
        for fd in fds[:3]:
            os.close(fd)
        code = run_and_report(spec, flow_cls, result_fd)
    except BaseException:  # report anything, then leave without running the server's code
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


# (hook, its own code) for each after-fork hook this server trimmed; see _lighten_fork_hooks.
_TRIMMED: list[tuple[types.FunctionType, types.CodeType]] = []


def _lighten_fork_hooks() -> None:
    """Make the after-fork hooks of ``threading`` and ``logging`` cheap for this server's tasks.

    Python runs them in every child. They repair the state that other threads left when the
    parent forked (their locks, the list of threads), and cost a task about 130 page copies
    (each first write to a page the child shares with this process copies it: some 0.4 ms of a
    task's ~3 ms on a VM). This process has one thread and forks from its loop, where no lock is
    held, so for its children the repairs are no-ops, except for logging's module lock, which
    logging's own before-fork hook takes in this process: that one is still reset. Each task
    puts the hooks back first thing (:func:`_restore_fork_hooks`), so whatever a task forks
    itself, with its own threads running, gets the full repair. Hooks that do more than repair
    (``random`` gives each child a fresh seed) are left alone. Skipped where these hooks are
    not what they are in the Python versions ketch supports.
    """
    import logging
    import threading

    if threading.active_count() != 1:
        return
    scope: dict[str, Any] = {}
    exec("def threading_hook():\n    pass\n", scope)
    exec("def logging_hook():\n    _lock._at_fork_reinit()\n", scope)
    for module, name, replacement in (
        (threading, "_after_fork", scope["threading_hook"]),
        (logging, "_after_at_fork_child_reinit_locks", scope["logging_hook"]),
    ):
        hook = getattr(module, name, None)
        if isinstance(hook, types.FunctionType) and not hook.__code__.co_freevars:
            _TRIMMED.append((hook, hook.__code__))
            hook.__code__ = replacement.__code__


def _restore_fork_hooks() -> None:
    for hook, code in _TRIMMED:
        hook.__code__ = code
