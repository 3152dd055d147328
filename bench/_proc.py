"""Run one command, timed, with the kernel's peak-RSS figure and optional memory sampling."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ._memory import MemorySampler, SampleMode


class BenchError(Exception):
    """A benchmarked command failed (non-zero exit or timeout); the message shows its output."""


@dataclass(frozen=True)
class Completed:
    wall_s: float
    returncode: int
    stdout: str
    stderr: str
    max_rss_kib: int  # ru_maxrss from wait4: the largest single process in the reaped tree
    tree_peak_kib: int | None  # sampled peak of the summed PSS of the process tree
    root_hwm_kib: int | None  # sampled VmHWM of the root process alone


def run(
    cmd: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float,
    sample: SampleMode | None = None,
    check: bool = True,
) -> Completed:
    """Run ``cmd`` to completion; raise :class:`BenchError` on timeout or (if ``check``) failure.

    The wall time is ``perf_counter`` around start-to-reap. The child gets its own session so
    that a timeout can kill the whole tree (a flow's scheduler, fork server and tasks).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd), cwd=cwd, env=dict(env), stdout=out, stderr=err, start_new_session=True
        )
        sampler = MemorySampler(proc.pid, sample) if sample else None
        pidfd = os.pidfd_open(proc.pid)
        try:
            ready, _, _ = select.select([pidfd], [], [], timeout_s)
            if not ready:
                _kill_tree(proc.pid)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
        finally:
            os.close(pidfd)
            if sampler:
                sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        stdout, stderr = _read(out), _read(err)
    done = Completed(
        wall_s=wall,
        returncode=proc.returncode,
        stdout=stdout,
        stderr=stderr,
        max_rss_kib=usage.ru_maxrss,
        tree_peak_kib=sampler.tree_peak_kib if sampler else None,
        root_hwm_kib=sampler.root_hwm_kib if sampler else None,
    )
    if not ready:
        raise BenchError(_describe(cmd, cwd, done, f"timed out after {timeout_s:.0f} s"))
    if check and done.returncode != 0:
        raise BenchError(_describe(cmd, cwd, done, f"exited with code {done.returncode}"))
    return done


def _kill_tree(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _read(fh: IO[bytes]) -> str:
    fh.seek(0)
    return fh.read().decode("utf-8", "replace")


def _describe(cmd: Sequence[str], cwd: Path, done: Completed, what: str) -> str:
    tail = "\n".join(done.stderr.splitlines()[-40:])
    out_tail = "\n".join(done.stdout.splitlines()[-10:])
    return (
        f"command {what} after {done.wall_s:.1f} s:\n  cd {cwd} && {' '.join(cmd)}\n"
        f"--- stderr (last 40 lines) ---\n{tail}\n--- stdout (last 10 lines) ---\n{out_tail}"
    )
