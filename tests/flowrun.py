"""Helpers for tests that run real flows in real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Project:
    """A throw-away project directory where flows are written and run."""

    root: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KETCH_")}
        env.update({"USER": "tester", "PYTHONUNBUFFERED": "1"})
        env.update(extra)
        return env

    def write(self, name: str, source: str) -> Path:
        path = self.root / name
        path.write_text(textwrap.dedent(source))
        return path

    def run(
        self, *args: str, timeout: float = 120, cwd: str | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """``python <args>`` in the project directory (or ``cwd``)."""
        return subprocess.run(
            [sys.executable, *args],
            cwd=cwd or self.root,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def run_id(self, name: str = "run-id") -> str:
        """The id written by the last ``--run-id-file <name>``."""
        return (self.root / name).read_text().strip()

    def ketch(
        self, *args: str, timeout: float = 120, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return self.run("-m", "ketch.cli", *args, timeout=timeout, **env)

    def client(self, code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run Python ``code`` in the project (e.g. Client API reads) and capture its output."""
        return self.run("-c", textwrap.dedent(code), timeout=timeout)


def blob_bytes(store: Path, key: str) -> bytes:
    """The stored bytes of blob ``key`` in the store at ``store`` (a ``.ketch`` directory)."""
    from ketch.datastore import open_storage

    return bytes(open_storage(str(store)).get(f"blobs/{key[:2]}/{key[2:]}"))


def damage_blob(store: Path, key: str, data: bytes | None) -> None:
    """Overwrite blob ``key`` where it lies, as damage on disk would (its length is kept when
    it is in the pack), or with ``data=None`` make it missing."""
    from ketch.datastore import LocalStorage, open_storage

    storage = open_storage(str(store))
    assert isinstance(storage, LocalStorage)  # damage where the bytes lie on the disk
    name = f"blobs/{key[:2]}/{key[2:]}"
    where = storage.locate(name)
    assert where is not None, f"blob {key} is not in {store}"
    path, offset, length = where
    if path.parent.name != "packs":
        path.unlink() if data is None else path.write_bytes(data)
        return
    if data is None:  # spoil the magic of every index record of the key
        needle = len(name).to_bytes(2, "little") + name.encode()
        for index in path.parent.glob("index-*"):
            raw = bytearray(index.read_bytes())
            index.write_bytes(raw.replace(b"KP" + needle, b"XX" + needle))
        return
    with path.open("r+b") as fh:
        fh.seek(offset)
        fh.write(data[:length].ljust(length, b"\0"))


def wait_for_file(path: Path, proc: subprocess.Popen[str], timeout: float = 60) -> str:
    """The content of ``path`` once a step has written it; ``proc`` (the run) must still be
    running meanwhile."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} was never written"
        time.sleep(0.001)
    return path.read_text()


def process_started(pid: int) -> str | None:
    """The start time of process ``pid`` (field 22 of /proc/PID/stat), or None when it does
    not run: absent, or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, *rest = stat.rsplit(")", 1)[1].split()
    return None if state in ("Z", "X") else rest[18]


def all_gone(pids: str, within: float = 10.0) -> bool:
    """Whether every process of ``pids`` ("PID START PID START ...") has ended, polling for at
    most ``within`` seconds (the start time tells a reused pid apart)."""
    fields = pids.split()
    procs = [(int(fields[i]), fields[i + 1]) for i in range(0, len(fields), 2)]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if all(process_started(pid) != start for pid, start in procs):
            return True
        time.sleep(0.02)
    return False


def linear_flow(name: str) -> str:
    """The source of the smallest flow, ``start`` -> ``end``, as a class called ``name``."""
    return f"""
from ketch import FlowSpec, step

class {name}(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    {name}()
"""


# The start step starts `sleep 1000`, writes "TASK_PID TASK_START CHILD_PID CHILD_START" to
# pids.txt, then waits; with QUICK=1 it finishes at once, leaving its child running.
KILL_FLOW = """
import os, subprocess, time
from ketch import FlowSpec, Parameter, step

def started(pid):
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()[19]

class KillFlow(FlowSpec):
    n = Parameter("n", default=1)

    @step
    def start(self):
        self.seen_n = self.n
        child = subprocess.Popen(["sleep", "1000"])
        pids = f"{os.getpid()} {started(os.getpid())} {child.pid} {started(child.pid)}"
        with open("pids.tmp", "w") as fh:
            fh.write(pids)
        os.rename("pids.tmp", "pids.txt")
        if not os.environ.get("QUICK"):
            time.sleep(1000)
        self.next(self.end)

    @step
    def end(self):
        print("N", self.seen_n, self.n)

if __name__ == "__main__":
    KillFlow()
"""


def start_run(project: Project, *args: str, **env: str) -> subprocess.Popen[str]:
    """``flow.py run`` in the background, in its own process group like a shell job."""
    return subprocess.Popen(
        [sys.executable, "flow.py", "run", "--run-id-file", "run-id", *args],
        cwd=project.root,
        env=project.env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def kill_9(proc: subprocess.Popen[str], target: str = "scheduler") -> None:
    if target == "scheduler":
        os.kill(proc.pid, signal.SIGKILL)
    else:  # the scheduler's process group, as `kill -9 -PGID` or job control would
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def clean_up(proc: subprocess.Popen[str], pids: str) -> None:
    """Kill what a failed test may have left running."""
    for pid, kill in [(proc.pid, os.killpg), *((int(p), os.kill) for p in pids.split()[::2])]:
        try:
            kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def refused(proc: subprocess.CompletedProcess[str], *needles: str, code: int = 1) -> None:
    """Assert that a command failed with exit code ``code``, saying each of ``needles`` on
    stderr, without a traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout


def recorded_runs(project: Project) -> list[tuple[int, str]]:
    """(run id, status) of every run in the project's SQLite store."""
    import sqlite3
    from contextlib import closing

    db = project.root / ".ketch" / "ketch.db"
    if not db.exists():
        return []
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT run_id, status FROM runs").fetchall()
