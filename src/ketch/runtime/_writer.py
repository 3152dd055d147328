"""The scheduler's one metadata writer, in a process of its own.

The scheduler calls the typed write methods of `RecordWriter` (those of
``ketch.metadata.MetadataWriter``, checked by mypy); each queues the call (plain, picklable
records) and
sends them at most every few tens of milliseconds (``Scheduler`` decides; a flush and closing
send at once); the writer process applies each sending in one transaction. It also opens the
store (on PostgreSQL, importing SQLAlchemy and connecting), so that opening it and creating the
run record happen on the other core while the first tasks already run (the run id is chosen up
front, see ``ketch.metadata.new_run_id``). It is forked before any thread exists, or, when the
flow's import left the process unsafe to fork (see ``_forksafety``), started as a fresh
interpreter (``python -m ketch.runtime._writer_spawn URL INBOX OUTBOX``).

An observer (``RecordWriter.observer``: the run's experiment trackers, ``ketch.trackers``) sees
every sending, and may add records of its own to the next one (where the trackers keep the run).

Wire format, both ways: a 4-byte little-endian length, then a pickle.
Scheduler -> writer: ``("ops", [(method, args, kwargs), ...])`` or ``("flush", None)``.
Writer -> scheduler: ``("flushed", error_or_None)`` after everything before the flush committed.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ..exceptions import InternalError, KetchException
from ..metadata._sqlite import sqlite_file
from ._forksafety import fork_hazards

if TYPE_CHECKING:
    from ..metadata import (
        ArtifactRecord,
        AttemptRecord,
        MetadataWriter,
        MetricPoint,
        ParameterRecord,
        RunLinkRecord,
        RunStatus,
        TaskRecord,
    )

Op = tuple[str, tuple[Any, ...], dict[str, Any]]


class WriteObserver(Protocol):
    """Sees what the writer sends (without waiting on anything: it runs in the scheduler)."""

    def observe(self, ops: list[Op]) -> None: ...

    def writes(self) -> list[Op]:
        """Records of its own to send with the next sending."""
        ...


_LEN = struct.Struct("<I")


def _send(fd: int, message: object) -> None:
    data = pickle.dumps(message, protocol=5)
    view = memoryview(_LEN.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, n - got)
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _receive(fd: int) -> Any:
    header = _read_exact(fd, _LEN.size)
    if header is None:
        return None
    body = _read_exact(fd, _LEN.unpack(header)[0])
    return None if body is None else pickle.loads(body)


class RecordWriter:
    """Handle on the writer process held by the scheduler."""

    def __init__(self, url: str) -> None:
        to_child_r, self._to_child = os.pipe()
        self._from_child, to_parent_w = os.pipe()
        if fork_hazards():
            self._proc: subprocess.Popen[bytes] | None = _spawn(url, to_child_r, to_parent_w)
            pid = self._proc.pid
        else:
            self._proc = None
            pid = _fork(url, to_child_r, (self._to_child, self._from_child), to_parent_w)
        os.close(to_child_r)
        os.close(to_parent_w)
        self.pid = pid
        self._pending: list[Op] = []
        self._last_send = 0.0
        self._closed = False
        self.observer: WriteObserver | None = None

    # -- the typed writes: each queues ``store.<method>(...)``, sent with the next `send` ----
    # Same names and arguments as `ketch.metadata.MetadataWriter`'s; nothing is returned (the
    # writer applies them in another process). Queueing is one list append, as fast as before.
    def create_run(
        self,
        flow_name: str,
        *,
        user: str,
        tags: Iterable[str],
        system_tags: Iterable[str],
        origin_run_id: int | None = None,
        code_key: str | None = None,
        scheduler_pid: int | None = None,
        hostname: str | None = None,
        datastore_url: str | None = None,
        run_id: int | None = None,
        created_at: float | None = None,
    ) -> None:
        self._pending.append(
            (
                "create_run",
                (flow_name,),
                {
                    "user": user,
                    "tags": tags,
                    "system_tags": system_tags,
                    "origin_run_id": origin_run_id,
                    "code_key": code_key,
                    "scheduler_pid": scheduler_pid,
                    "hostname": hostname,
                    "datastore_url": datastore_url,
                    "run_id": run_id,
                    "created_at": created_at,
                },
            )
        )

    def set_parameters(self, run_id: int, parameters: Sequence[ParameterRecord]) -> None:
        self._pending.append(("set_parameters", (run_id, parameters), {}))

    def set_code_key(self, run_id: int, code_key: str) -> None:
        self._pending.append(("set_code_key", (run_id, code_key), {}))

    def set_graph_key(self, run_id: int, graph_key: str) -> None:
        self._pending.append(("set_graph_key", (run_id, graph_key), {}))

    def heartbeat(self, run_id: int, at: float) -> None:
        self._pending.append(("heartbeat", (run_id, at), {}))

    def finish_run(self, run_id: int, status: RunStatus, finished_at: float) -> None:
        self._pending.append(("finish_run", (run_id, status, finished_at), {}))

    def upsert_task(self, task: TaskRecord) -> None:
        self._pending.append(("upsert_task", (task,), {}))

    def upsert_attempt(self, attempt: AttemptRecord) -> None:
        self._pending.append(("upsert_attempt", (attempt,), {}))

    def add_artifacts(
        self, run_id: int, task_id: int, attempt: int, artifacts: Sequence[ArtifactRecord]
    ) -> None:
        self._pending.append(("add_artifacts", (run_id, task_id, attempt, artifacts), {}))

    def add_metrics(
        self,
        run_id: int,
        task_id: int,
        attempt: int,
        step_name: str,
        points: Sequence[MetricPoint],
        first_seq: int = 0,
    ) -> None:
        args = (run_id, task_id, attempt, step_name, points, first_seq)
        self._pending.append(("add_metrics", args, {}))

    def add_run_link(self, link: RunLinkRecord) -> None:
        self._pending.append(("add_run_link", (link,), {}))

    def add_tags(self, run_id: int, tags: Iterable[str]) -> None:
        self._pending.append(("add_tags", (run_id, tags), {}))

    def remove_tags(self, run_id: int, tags: Iterable[str]) -> None:
        self._pending.append(("remove_tags", (run_id, tags), {}))

    def send(self, *, every: float = 0.0) -> float | None:
        """Send the queued calls, or with ``every``, only if the last sending is at least that
        many seconds old. Returns the seconds until the calls still queued are due, or None
        when none are."""
        if self.observer is not None:
            self._pending += self.observer.writes()
        if not self._pending:
            return None
        wait = self._last_send + every - time.monotonic()
        if wait > 0:
            return wait
        ops, self._pending = self._pending, []
        _send(self._to_child, ("ops", ops))
        if self.observer is not None:
            self.observer.observe(ops)
        self._last_send = time.monotonic()
        return None

    def flush(self) -> None:
        """Wait until every queued call is committed; raise the first error the writer met."""
        self.send()
        _send(self._to_child, ("flush", None))
        reply = _receive(self._from_child)
        if reply is None:
            raise InternalError("The metadata writer process died.")
        error = reply[1]
        if error is not None:
            raise error

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.send()  # what is still queued: the writer applies it before it exits
        except OSError:
            pass  # the writer is gone
        os.close(self._to_child)
        if self._proc is not None:
            self._proc.wait()
        else:
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
        os.close(self._from_child)


def _fork(url: str, inbox: int, parent_ends: tuple[int, int], outbox: int) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    gc.freeze()  # what the child inherits: its collections leave it alone (no page copies)
    pid = os.fork()
    if pid == 0:  # the writer process
        for fd in parent_ends:
            os.close(fd)
        code = 0
        try:
            _serve(url, inbox, outbox)
        except BaseException:
            code = 1
        os._exit(code)
    gc.unfreeze()  # this process collects as before
    return pid


def _spawn(url: str, inbox: int, outbox: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "ketch.runtime._writer_spawn", url, str(inbox), str(outbox)]
    return subprocess.Popen(cmd, pass_fds=(inbox, outbox))


def _serve(url: str, inbox: int, outbox: int) -> None:
    """Open the store only when the first records arrive: a run refused by its checks must
    leave no database behind. On a SQLite file the writer needs only the standard library;
    any other store loads the SQL layer (the slow part) at once, before records arrive."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the scheduler decides; we finish writing
    error: BaseException | None = None
    store = None
    if sqlite_file(url) is None:
        try:
            from ..metadata import _sql  # noqa: F401  (imports SQLAlchemy)
        except BaseException as exc:
            error = _portable(exc)
    try:
        while True:
            message = _receive(inbox)
            if message is None:
                return
            kind, ops = message
            if kind == "flush":
                _send(outbox, ("flushed", error))
            elif error is None:
                if store is None:
                    store, error = _open(url)
                if store is not None:
                    error = _apply(store, ops)
    finally:
        if store is not None:
            store.close()


def _open(url: str) -> tuple[Any, BaseException | None]:
    try:
        from ..metadata import open_store

        return open_store(url), None
    except BaseException as exc:
        return None, _portable(exc)


def _apply(store: MetadataWriter, ops: list[Op]) -> BaseException | None:
    try:
        with store.batch():
            for method, args, kwargs in ops:
                # Only `RecordWriter`'s methods make ops: each names a `MetadataWriter` method.
                getattr(store, method)(*args, **kwargs)
    except BaseException as exc:
        return _portable(exc)
    return None


def spawn_main() -> None:
    """Entry point of a writer started as a fresh interpreter (see ``_writer_spawn``)."""
    url, inbox, outbox = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    _serve(url, inbox, outbox)


def _portable(exc: BaseException) -> BaseException:
    """An exception that survives pickling back to the scheduler."""
    if isinstance(exc, KetchException):
        return exc
    return InternalError(f"Writing the run's metadata failed: {type(exc).__name__}: {exc}")
