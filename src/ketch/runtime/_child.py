"""The first code a task process runs: wire its file descriptors, run the task, report."""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import socket
import sys
from typing import Any

from ._gpu import restore_environ
from ._lifeline import die_with_parent, watch_group
from ._metricframes import metrics_sender, write_all
from ._spec import TaskResult, TaskSpec


def read_spec(fd: int) -> TaskSpec:
    try:
        spec: TaskSpec = pickle.loads(os.pread(fd, os.fstat(fd).st_size, 0))
    finally:
        os.close(fd)
    return spec


def wire_stdio(stdout_fd: int, stderr_fd: int) -> None:
    """Point fds 0, 1 and 2 at /dev/null and the capture pipes; make Python's streams line
    buffered so output reaches the scheduler as it is printed."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(stdout_fd, 1)
    os.dup2(stderr_fd, 2)
    os.close(stdout_fd)
    os.close(stderr_fd)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)


def run_and_report(spec: TaskSpec, flow_cls: Any, result_fd: int) -> int:
    """Run the task and write its pickled :class:`TaskResult` to ``result_fd``."""
    from ._task import execute

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _enter_cwd(spec)
    restore_environ(os.environ)
    os.environ.update(spec.env)
    os.environ["KETCH_RUN_ID"] = str(spec.run_id)
    result = execute(spec, flow_cls, spill=metrics_sender(result_fd))
    _flush()
    _write_result(result_fd, result)
    return 0 if result.ok else 1


def _enter_cwd(spec: TaskSpec) -> None:
    """Work where the run started; where that directory is not (another machine), in the
    unpacked code package, as a Metaflow task on remote compute does."""
    if not spec.cwd:
        return
    try:
        os.chdir(spec.cwd)
    except FileNotFoundError:
        from ._package import package_dir

        unpacked = package_dir(spec)
        if unpacked is not None:
            os.chdir(unpacked)


def _write_result(fd: int, result: TaskResult) -> None:
    write_all(fd, pickle.dumps(result, protocol=5))
    os.close(fd)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def spawn_main() -> None:
    """Entry point of a task started in spawn mode: ``python -m ketch.runtime._spawn``
    ``PARENT SPEC OUT ERR RESULT``, or ``--spare PARENT SOCKET OUT ERR FLOW_FILE FLOW_CLASS``
    for a spare interpreter that imports the flow first and then waits for its task (see
    ``_spares``; where the flow file is not here, it waits first and then loads the flow its
    task's spec names, from the code package). ``PARENT`` is the scheduler's pid: the task
    ends when it does."""
    from ..flow._load import load_flow_class
    from ._package import task_flow_class
    from ._spares import READY

    spare = sys.argv[1] == "--spare"
    args = sys.argv[2:] if spare else sys.argv[1:]
    if not die_with_parent(int(args[0])):
        os._exit(1)
    watch_group()  # before the flow's import may start threads: a fork is safe here
    if spare:
        sock_fd, out_fd, err_fd = (int(x) for x in args[1:4])
        wire_stdio(out_fd, err_fd)
        here = os.path.isfile(args[4])
        flow_cls = load_flow_class(args[4], args[5]) if here else None
        with socket.socket(fileno=sock_fd) as sock:
            with contextlib.suppress(OSError):  # the run may be over already
                sock.send(READY)  # the import succeeded: a task may be handed over now
            msg, fds, _flags, _addr = socket.recv_fds(sock, 16, 2)
        if not msg:  # not needed after all: the run is over
            os._exit(0)
        spec_fd, result_fd = fds
        spec = read_spec(spec_fd)
        if flow_cls is None or spec.load_from_package:
            flow_cls = task_flow_class(spec)
    else:
        spec_fd, out_fd, err_fd, result_fd = (int(x) for x in args[1:5])
        spec = read_spec(spec_fd)
        wire_stdio(out_fd, err_fd)
        flow_cls = task_flow_class(spec)
    code = run_and_report(spec, flow_cls, result_fd)
    _flush()
    os._exit(code)
