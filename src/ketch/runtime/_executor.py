"""The local executors (fork and spawn): the :class:`Executor` protocol over local processes.

One I/O thread owns every pipe: it starts tasks (through the fork server, or by spawning a fresh
interpreter), streams their output to a callback line by line, and stores each task's captured
output as log blobs when the task ends (``TaskResult.stdout_key``/``stderr_key``): the pipes are
the one place that holds all of it, also when the task's process was killed before it could
report anything. With an ``on_metrics`` callback, the metric batches a running task sends on its
result pipe go to it as each arrives whole (``_metricframes``), and the task's result then
carries only the points not handed over yet. Cancelling and closing are requests to the same
thread. A future resolves as soon as its task has written its whole result and closed the result
pipe (the task flushed its output first and does nothing after but exit), so the next task can
start while this one's process is still being torn down; a task that dies without a result
resolves when its process has exited, with the exit status.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import selectors
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from ..datastore import open_blobs
from ..exceptions import KetchException
from ._executor_api import MetricsCallback, OutputCallback, StartCallback
from ._forkserver import ForkServer, ServerUnavailable
from ._gpu import original_environ
from ._lifeline import kill_group
from ._metricframes import read_frames, take_metric_frames
from ._spares import SparePool
from ._spec import TaskResult, TaskSpec

if TYPE_CHECKING:
    from ..datastore import BlobStore

_READ = 1 << 16


class TaskSetupError(Exception):
    """The tasks of a run cannot start on this machine (its flow cannot be loaded here)."""


@dataclass(frozen=True)
class _Request:
    """What the caller asks of the I/O thread (``close``: serve until every task ended)."""

    kind: Literal["start", "cancel", "cancel_all", "close"]
    future: Future[TaskResult] | None = None
    spec: TaskSpec | None = None
    req_id: int = 0


@dataclass
class _Running:
    spec: TaskSpec
    future: Future[TaskResult]
    fds: dict[str, int]  # stream name -> read end
    out: dict[str, bytearray] = field(default_factory=dict)
    partial: dict[str, bytes] = field(default_factory=dict)
    pid: int | None = None
    proc: subprocess.Popen[bytes] | None = None
    pending: list[tuple[str, bytes]] = field(default_factory=list)  # lines seen before the pid
    kill_requested: bool = False  # cancelled: its result says so unless it reported one
    delivered: bool = False  # the future has its result (the process may still be exiting)


class LocalExecutor:
    """Runs tasks as local processes, at most as many at once as the caller submits."""

    def __init__(
        self,
        flow_cls: Any,
        *,
        mode: Literal["fork", "spawn"] = "fork",
        on_output: OutputCallback | None = None,
        on_start: StartCallback | None = None,
        server: ForkServer | None = None,
        on_metrics: MetricsCallback | None = None,
    ) -> None:
        self.mode = mode
        self.on_output = on_output
        self.on_start = on_start
        self.on_metrics = on_metrics
        if mode == "fork" and server is None:
            server = ForkServer(flow_cls)
        self._server = server
        self._spares = SparePool() if mode == "spawn" else None
        self._selector = selectors.DefaultSelector()
        self._requests: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, ("wake", None))
        if self._server is not None:
            self._selector.register(self._server.sock, selectors.EVENT_READ, ("server", None))
        self._running: dict[int, _Running] = {}
        self._exits: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
        self._blobs: dict[str, BlobStore] = {}  # store root -> the logs' store (I/O thread)
        self._next_id = 0
        self._closed = False
        self._closing = False
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="ketch-executor", daemon=True)
        self._thread.start()

    @classmethod
    def for_spec(
        cls,
        spec: TaskSpec,
        *,
        on_output: OutputCallback | None = None,
        on_start: StartCallback | None = None,
        on_metrics: MetricsCallback | None = None,
    ) -> LocalExecutor:
        """An executor for the tasks of ``spec``'s run in a process that has not imported the
        flow and has threads (a Ray worker): its fork server starts in a fresh interpreter that
        loads the flow (from the code package); where that import leaves a process unsafe to
        fork, each task starts a fresh interpreter instead. Raises ``TaskSetupError`` where the
        flow cannot be loaded here (the datastore is not reachable from this machine)."""
        spec_fd = _spec_file(spec)
        try:
            server = ForkServer.spawn(spec, spec_fd)
        except ServerUnavailable as exc:
            if not exc.unsafe:
                raise TaskSetupError(str(exc)) from None
            return cls(
                None, mode="spawn", on_output=on_output, on_start=on_start, on_metrics=on_metrics
            )
        finally:
            os.close(spec_fd)
        return cls(
            None,
            mode="fork",
            on_output=on_output,
            on_start=on_start,
            server=server,
            on_metrics=on_metrics,
        )

    # -- the caller's side ------------------------------------------------------------------
    def submit(self, spec: TaskSpec) -> Future[TaskResult]:
        future: Future[TaskResult] = Future()
        self._next_id += 1
        self._ask(_Request("start", future, spec, self._next_id))
        return future

    def cancel(self, task: Future[TaskResult]) -> None:
        """SIGKILL the task behind ``task`` (now, or as soon as its process exists); its result
        says ``TaskCancelled``. A no-op for a task that has ended."""
        self._ask(_Request("cancel", task))

    def cancel_all(self) -> None:
        """SIGKILL every running task (also those still starting); their results say
        ``TaskCancelled``. Tasks submitted but not started yet are not started."""
        self._stopping = True
        self._ask(_Request("cancel_all"))

    def close(self) -> None:
        """Cancel every task, wait (at most 10 s) until their processes have ended, and end
        the fork server or the spare interpreters."""
        if self._closed:
            return
        self._closed = True
        self.cancel_all()
        self._ask(_Request("close"))
        self._thread.join(timeout=10)
        if self._server is not None:
            self._server.close()
        if self._spares is not None:
            self._spares.close()

    def _ask(self, request: _Request) -> None:
        self._requests.put(request)
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    # -- the I/O thread ---------------------------------------------------------------------
    def _loop(self) -> None:
        try:
            self._serve()
        except BaseException as exc:  # never leave futures hanging if the I/O thread breaks
            for running in self._running.values():
                if not running.future.done():
                    running.future.set_exception(exc)
            raise

    def _serve(self) -> None:
        while not (self._closing and not self._running):
            for key, _ in self._selector.select():
                kind, req_id = key.data
                if kind == "wake":
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_r, 4096)
                    self._take_requests()
                    self._take_spawn_exits()
                elif kind == "server":
                    self._server_message()
                else:
                    self._read_stream(req_id, kind, key.fd)

    def _take_requests(self) -> None:
        while True:
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                return
            if request.kind == "start":
                assert request.spec is not None and request.future is not None
                self._start(request.req_id, request.spec, request.future)
            elif request.kind == "cancel":
                self._kill(request.future)
            elif request.kind == "cancel_all":
                self._kill(None)
            else:
                self._closing = True

    def _kill(self, future: Future[TaskResult] | None) -> None:
        """SIGKILL the task of ``future``, or with None every task."""
        for running in self._running.values():
            if (future is None or running.future is future) and not running.delivered:
                running.kill_requested = True
                if running.pid is not None:
                    kill_group(running.pid)

    def _store(self, spec: TaskSpec) -> BlobStore:
        blobs = self._blobs.get(spec.datastore_url)
        if blobs is None:
            blobs = self._blobs[spec.datastore_url] = open_blobs(spec.datastore_url)
        return blobs

    def _start(self, req_id: int, spec: TaskSpec, future: Future[TaskResult]) -> None:
        if self._stopping:
            future.set_result(TaskResult(ok=False, exception=CANCELLED_BEFORE_START))
            return
        spec_fd = _spec_file(spec)
        result_r, result_w = os.pipe()
        spare = None if self._spares is None else self._spares.take(spec, [spec_fd, result_w])
        if spare is not None:  # its stdout and stderr pipes were made when it started
            reads, child_fds = [spare.stdout, spare.stderr, result_r], [spec_fd, result_w]
        else:
            (out_r, out_w), (err_r, err_w) = os.pipe(), os.pipe()
            reads, child_fds = [out_r, err_r, result_r], [spec_fd, out_w, err_w, result_w]
        fds = dict(zip(("stdout", "stderr", "result"), reads, strict=True))
        running = _Running(spec, future, fds)
        for name, r in running.fds.items():
            os.set_blocking(r, False)
            running.out[name] = bytearray()
            self._selector.register(r, selectors.EVENT_READ, (name, req_id))
        self._running[req_id] = running
        try:
            if self._server is not None:
                self._server.request(req_id, child_fds)
            elif spare is not None:
                self._started(req_id, running, spare.proc)
            else:
                self._spawn(req_id, running, child_fds)
        finally:
            for fd in child_fds:
                os.close(fd)
        if self._spares is not None:
            self._spares.prepare(spec)

    def _spawn(self, req_id: int, running: _Running, fds: list[int]) -> None:
        cmd = [running.spec.python or sys.executable, "-m", "ketch.runtime._spawn"]
        cmd.append(str(os.getpid()))
        cmd += [str(fd) for fd in fds]
        # The task's environment is in place before it imports the flow (whose import may
        # start a GPU runtime on the devices CUDA_VISIBLE_DEVICES names).
        env = {**original_environ(os.environ), **running.spec.env}
        proc = subprocess.Popen(
            cmd, pass_fds=fds, cwd=running.spec.cwd or None, env=env, start_new_session=True
        )
        self._started(req_id, running, proc)

    def _started(self, req_id: int, running: _Running, proc: subprocess.Popen[bytes]) -> None:
        """A spawned task's process runs its task: report it, and wait for its exit."""
        running.proc = proc
        running.pid = proc.pid
        if self.on_start:
            self.on_start(running.spec, proc.pid)
        self._flush_pending(running)

        def wait() -> None:
            # Kill what the task started while its pid is not reaped (so not reused) yet.
            with contextlib.suppress(ChildProcessError):
                os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
            kill_group(proc.pid)
            self._exits.put((req_id, proc.wait()))
            self._wake()

        threading.Thread(target=wait, daemon=True).start()

    def _take_spawn_exits(self) -> None:
        while True:
            try:
                req_id, code = self._exits.get_nowait()
            except queue.Empty:
                return
            status = (-code) if code < 0 else (code << 8)
            self._finish(req_id, status)

    def _server_message(self) -> None:
        assert self._server is not None
        msg = self._server.sock.recv(4096)
        if not msg:  # the fork server died: fail whatever is running
            self._selector.unregister(self._server.sock)
            for req_id, orphan in list(self._running.items()):
                if orphan.pid is not None:  # no server to kill what it started: do it here
                    kill_group(orphan.pid)
                self._finish(req_id, 1 << 8)
            return
        kind, req_id, value = pickle.loads(msg)
        running = self._running.get(req_id)
        if running is None:
            return
        if kind == "pid":
            running.pid = value
            if running.kill_requested:
                kill_group(value)
            if self.on_start:
                self.on_start(running.spec, value)
            self._flush_pending(running)
        else:
            self._finish(req_id, value)

    def _read_stream(self, req_id: int, name: str, fd: int) -> None:
        running = self._running.get(req_id)
        if running is None or running.fds.get(name) != fd:
            return  # a stale event for a task finished earlier in the same select() batch
        try:
            data = os.read(fd, _READ)
        except BlockingIOError:
            return
        if not data:
            self._selector.unregister(fd)
            os.close(fd)
            running.fds.pop(name, None)
            if name == "result":
                self._deliver_reported(running)
            return
        keep(running.out[name], data, name)
        if name == "result":
            if self.on_metrics is not None:
                points = take_metric_frames(running.out[name])
                if points:
                    self.on_metrics(running.spec, tuple(points))
        elif self.on_output is not None:
            self._emit_lines(running, name, data)

    def _emit_lines(self, running: _Running, name: str, data: bytes) -> None:
        assert self.on_output is not None
        buf = running.partial.get(name, b"") + data
        *lines, rest = buf.split(b"\n")
        running.partial[name] = rest
        for line in lines:
            if running.pid is None:
                running.pending.append((name, line))
            else:
                self.on_output(running.spec, name, line)

    def _flush_pending(self, running: _Running) -> None:
        if self.on_output is not None:
            for name, line in running.pending:
                self.on_output(running.spec, name, line)
        running.pending.clear()

    def _drain(self, running: _Running, *, close: bool) -> None:
        """Read what the task's pipes hold now; with ``close``, up to EOF, then close them."""
        for name, fd in list(running.fds.items()):
            with contextlib.suppress(OSError):
                while chunk := os.read(fd, _READ):
                    keep(running.out[name], chunk, name)
                    if name != "result" and self.on_output is not None:
                        self._emit_lines(running, name, chunk)
            if close:
                self._selector.unregister(fd)
                os.close(fd)

    def _deliver(self, running: _Running, status: int, reported: TaskResult | None = None) -> None:
        for name, rest in running.partial.items():
            if rest:
                running.pending.append((name, rest))
        running.partial.clear()
        self._flush_pending(running)
        running.delivered = True
        try:
            result = _result(running, status, reported or _reported(running))
            result = with_logs(result, running.out, self._store(running.spec))
        except Exception as exc:  # the logs could not be stored (a full disk): the run fails
            running.future.set_exception(exc)
            return
        running.future.set_result(result)

    def _deliver_reported(self, running: _Running) -> None:
        """Resolve the future now if the task wrote a whole result (else wait for its exit)."""
        if running.pid is None or running.kill_requested:
            return
        result = _reported(running)
        if result is None:
            return
        self._drain(running, close=False)  # the task flushed its output before reporting
        self._deliver(running, 0 if result.ok else 1 << 8, result)  # the status it exits with

    def _finish(self, req_id: int, status: int) -> None:
        running = self._running.pop(req_id)
        self._drain(running, close=True)
        if not running.delivered:
            self._deliver(running, status)


# Captured output kept per stream (as Metaflow's --max-log-size default); the rest is still
# echoed live but not stored.
MAX_LOG_BYTES = 10 * 1024 * 1024
_TRUNCATED = b"\n[ketch: output truncated: more than 10 MB]\n"


def keep(buffer: bytearray, data: bytes, name: str) -> None:
    """Add ``data`` to the captured output of stream ``name``, up to ``MAX_LOG_BYTES``."""
    if name == "result" or len(buffer) + len(data) <= MAX_LOG_BYTES:
        buffer += data
    elif not buffer.endswith(_TRUNCATED):
        buffer += data[: max(0, MAX_LOG_BYTES - len(buffer))] + _TRUNCATED


def _spec_file(spec: TaskSpec) -> int:
    data = pickle.dumps(spec, protocol=5)
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("ketch-spec")
    else:  # pragma: no cover - non-Linux
        import tempfile

        fd = os.dup(tempfile.TemporaryFile().fileno())
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _reported(running: _Running) -> TaskResult | None:
    """The result the task wrote, if it wrote a whole one, with every metric it logged."""
    spilled, result = read_frames(running.out["result"])
    if result is None or not spilled:
        return result
    return replace(result, metrics=(*spilled, *result.metrics))


def _result(running: _Running, status: int, result: TaskResult | None) -> TaskResult:
    """The task's result completed by the executor (exit code), or its death."""
    exit_code = os.waitstatus_to_exitcode(status)
    if result is None:
        death = _death_reason(exit_code)
        if running.kill_requested:
            death = f"the task was cancelled: {death}"
        # The stored log says why it ends there (Metaflow's line for a segfault).
        whole_lines(running.out["stderr"])  # the note starts a line of its own
        running.out["stderr"] += _death_note(exit_code, death).encode() + b"\n"
        kind = "TaskCancelled" if running.kill_requested else _death_kind(exit_code)
        return TaskResult(
            ok=False,
            exception=f"{kind}: {death}",
            exit_code=exit_code,
            pid=running.pid,
            finished_at=time.time(),
            metrics=tuple(read_frames(running.out["result"])[0]),  # sent before it died
        )
    ok = result.ok and exit_code == 0
    return replace(result, ok=ok, exit_code=exit_code, pid=running.pid)


def with_logs(result: TaskResult, out: dict[str, bytearray], blobs: BlobStore) -> TaskResult:
    """``result`` with the keys of the task's captured output ``out`` (by stream name),
    stored as log blobs (both in
    one write to a remote store). Logs that cannot be stored are reported, not fatal: the
    task's artifacts are stored already."""
    keys: dict[str, str | None] = {}
    try:
        with blobs.batch():
            for name in ("stdout", "stderr"):
                data = whole_lines(out[name])
                keys[name] = blobs.put_bytes(data, label=f"its {name}") if data else None
    except KetchException as exc:
        print(f"ketch: the output of a task was not stored: {exc}", file=sys.stderr, flush=True)
        return result
    return replace(result, stdout_key=keys["stdout"], stderr_key=keys["stderr"])


CANCELLED_BEFORE_START = "TaskCancelled: the task was cancelled before it started"


def whole_lines(data: bytearray) -> bytes:
    """Captured output always ends with a newline, like every line Metaflow stores."""
    if data and not data.endswith(b"\n"):
        data += b"\n"
    return bytes(data)


def _signal_name(exit_code: int) -> str:
    try:
        return signal.Signals(-exit_code).name
    except ValueError:
        return f"signal {-exit_code}"


def _death_reason(exit_code: int) -> str:
    if exit_code < 0:
        reason = f"the task process was killed by {_signal_name(exit_code)} ({-exit_code})"
        return reason + (": a segmentation fault" if -exit_code == signal.SIGSEGV else "")
    return f"the task process exited with code {exit_code} before reporting a result"


def _death_kind(exit_code: int) -> str:
    """The ``Type`` of the error of a task whose process died without reporting a result."""
    return "TaskKilled" if exit_code < 0 else "TaskDied"


def _death_note(exit_code: int, death: str) -> str:
    """The last line of a dead task's stored stderr."""
    if exit_code == -signal.SIGSEGV:
        return "Task failed with a segmentation fault."
    return f"Task failed: {death}."
