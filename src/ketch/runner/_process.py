"""One flow command running as a subprocess: its output kept in files (and shown, if asked),
read whole, tailed line by line, waited for with a timeout, or killed with its whole group."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Literal

from ..exceptions import UserError

Stream = Literal["stdout", "stderr"]
_POLL = 0.05  # seconds between looks at a log file that is still being written
_GRACE = 5.0  # seconds a killed run has to stop before SIGKILL


class CommandProcess:
    """``argv`` started in its own process group (so that killing it stops its tasks too),
    stdout and stderr copied line by line to ``<logs>/stdout`` and ``<logs>/stderr``."""

    def __init__(
        self, argv: list[str], *, env: dict[str, str], cwd: str, logs: Path, show: bool
    ) -> None:
        self.argv = argv
        self.command = argv  # Metaflow's names for the command and its output files
        self.log_files = {name: str(logs / name) for name in ("stdout", "stderr")}
        self.logs = logs
        self.timed_out = False
        self._saved: dict[str, str] = {}
        self.process = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self._pumps = [
            _pump(self.process.stdout, logs / "stdout", sys.stdout if show else None),
            _pump(self.process.stderr, logs / "stderr", sys.stderr if show else None),
        ]

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    @property
    def done(self) -> bool:
        """The process exited and all its output is in the log files."""
        return self.process.poll() is not None and not any(p.is_alive() for p in self._pumps)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the process to exit; past ``timeout`` seconds, kill it (``timed_out``)."""
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.timed_out = True
            self.kill()
        for pump in self._pumps:
            pump.join()
        return self.process.returncode

    def read(self, stream: Stream) -> str:
        if stream in self._saved:
            return self._saved[stream]
        path = self.logs / stream
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    async def tail(
        self, stream: Stream, position: int | None = None
    ) -> AsyncIterator[tuple[int, str]]:
        """``(position after the line, line)`` for each line of ``stream``, as it is written,
        until the process has ended and every line was read."""
        if stream not in ("stdout", "stderr"):
            raise UserError(f"stream must be 'stdout' or 'stderr', not {stream!r}.")
        with open(self.logs / stream, "rb") as f:
            f.seek(position or 0)
            pending = b""
            while True:
                ended = self.done  # checked before reading: nothing is written after it
                chunk = f.readline()
                if chunk:
                    pending += chunk
                    if pending.endswith(b"\n") or ended:
                        yield f.tell(), pending.decode("utf-8", "replace").rstrip("\n")
                        pending = b""
                    continue
                if ended:
                    return
                await asyncio.sleep(_POLL)

    def kill(self) -> None:
        """Stop the command and every process it started (SIGTERM, then SIGKILL)."""
        if self.process.poll() is not None:
            return
        _signal_group(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(_GRACE)
        except subprocess.TimeoutExpired:
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def save_output(self) -> None:
        """Keep the output in memory (the log files are about to be removed)."""
        for pump in self._pumps:
            pump.join()
        self._saved = {name: self.read(name) for name in ("stdout", "stderr")}


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _pump(source: IO[bytes], path: Path, echo: IO[str] | None) -> threading.Thread:
    def copy() -> None:
        shown = echo
        with open(path, "wb") as out:
            for line in iter(source.readline, b""):
                out.write(line)
                out.flush()
                if shown is not None:
                    try:
                        shown.write(line.decode("utf-8", "replace"))
                        shown.flush()
                    except (OSError, ValueError):  # closed (e.g. a test's captured output)
                        shown = None
        source.close()

    path.touch()
    thread = threading.Thread(target=copy, name=f"ketch-runner-{path.name}", daemon=True)
    thread.start()
    return thread
