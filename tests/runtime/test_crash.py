"""Crash safety with real processes and signals: kill -9, Ctrl-C, corrupt blobs, full disk,
and concurrent writers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flowrun import blob_bytes, damage_blob

pytestmark = pytest.mark.slow

SLOW_FOREACH = """
import os, time
from ketch import FlowSpec, step

class SlowFlow(FlowSpec):
    @step
    def start(self):
        self.items = list(range(12))
        self.next(self.body, foreach="items")

    @step
    def body(self):
        print("working on", self.input)
        time.sleep(float(os.environ.get("NAP", "0.4")))
        self.sq = self.input ** 2
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.sq for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        print("TOTAL", self.total)

if __name__ == "__main__":
    SlowFlow()
"""
TOTAL = sum(i * i for i in range(12))


def _start(project, *args: str, **env: str) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    return subprocess.Popen(
        [sys.executable, "flow.py", "run", "--max-workers", "2", *args],
        cwd=project.root,
        env=project.env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, like a shell job
    )


def _wait_for_finished_tasks(proc: subprocess.Popen[str], count: int) -> None:
    assert proc.stdout is not None
    seen = 0
    deadline = time.monotonic() + 60
    while seen < count and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "/body/" in line and "Task finished successfully" in line:
            seen += 1
    assert seen == count


def _state(project) -> dict[str, object]:  # type: ignore[no-untyped-def]
    out = project.client(
        """
        import json
        from ketch import Flow
        run = Flow("SlowFlow").latest_run
        body = list(run["body"]) if "body" in run else []
        print(json.dumps({
            "status": run.status, "successful": run.successful, "finished": run.finished,
            "done": sum(t.successful for t in body),
            "cloned": sum(t.origin_pathspec is not None for t in body),
            "total": run.data.total if run.successful else None,
        }))
        """
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_kill_9_of_the_process_group_then_resume(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", SLOW_FOREACH)
    proc = _start(project)
    _wait_for_finished_tasks(proc, 4)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=10)
    state = _state(project)
    assert state["status"] == "failed"
    assert not state["successful"] and not state["finished"]
    done = state["done"]
    assert 2 <= done < 12  # type: ignore[operator]
    resumed = project.run("flow.py", "resume", NAP="0")
    assert resumed.returncode == 0, resumed.stderr
    assert f"TOTAL {TOTAL}" in resumed.stdout
    after = _state(project)
    assert after["successful"] and after["total"] == TOTAL
    assert after["cloned"] == done  # only the unfinished tasks ran again


def test_ctrl_c_stops_everything_quickly(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", SLOW_FOREACH)
    proc = _start(project, NAP="30")
    assert proc.stdout is not None
    while "working on" not in proc.stdout.readline():
        pass
    started = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=20)
    assert time.monotonic() - started < 10
    assert proc.returncode != 0
    assert "interrupted" in err
    state = _state(project)
    assert state["status"] == "failed"
    # No task process is left behind.
    leftover = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True)
    assert leftover.stdout.strip() == ""
    resumed = project.run("flow.py", "resume", NAP="0")
    assert resumed.returncode == 0 and f"TOTAL {TOTAL}" in resumed.stdout


def test_sigterm_of_the_scheduler_stops_the_run(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", SLOW_FOREACH)
    proc = _start(project, NAP="30")
    assert proc.stdout is not None
    while "working on" not in proc.stdout.readline():
        pass
    os.kill(proc.pid, signal.SIGTERM)  # the scheduler only, as a process manager would
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 1 and "interrupted" in err
    assert _state(project)["status"] == "failed"
    leftover = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True)
    assert leftover.stdout.strip() == ""


def test_corrupt_blob_is_detected(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", SLOW_FOREACH)
    assert project.run("flow.py", "run", "--run-id-file", "run-id", NAP="0").returncode == 0
    run_id = project.run_id()
    out = project.client(
        """
        from ketch import Flow
        print(Flow("SlowFlow").latest_run["join"].task["total"].sha)
        """
    )
    key = out.stdout.strip()
    data = bytearray(blob_bytes(project.root / ".ketch", key))
    data[-1] ^= 0xFF
    damage_blob(project.root / ".ketch", key, bytes(data))
    read = project.client("from ketch import Flow; print(Flow('SlowFlow').latest_run.data.total)")
    assert read.returncode == 1
    assert f"Artifact 'total' of task SlowFlow/{run_id}/end/" in read.stderr
    assert "is corrupt" in read.stderr
    resumed = project.run("flow.py", "resume", "end", "--run-id-file", "resumed")
    assert resumed.returncode == 1  # the end step reads 'total' again
    resumed_id = project.run_id("resumed")
    assert f"Artifact 'total' read by SlowFlow/{resumed_id}/end/" in resumed.stdout + resumed.stderr


def test_damaged_metadata_database_is_named(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", SLOW_FOREACH)
    assert project.run("flow.py", "run", NAP="0").returncode == 0
    db = project.root / ".ketch" / "ketch.db"
    for leftover in (db.with_name("ketch.db-wal"), db.with_name("ketch.db-shm")):
        leftover.unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    for proc in (
        project.run("flow.py", "run", NAP="0"),
        project.ketch("runs"),
        project.client("from ketch import Flow; print(list(Flow('SlowFlow')))"),
        project.client(
            "from ketch.metadata import open_store, sqlite_url; "
            f"open_store(sqlite_url({str(db)!r}), sqlalchemy=True)"
        ),
    ):
        assert proc.returncode == 1
        assert "is not a readable SQLite database" in proc.stderr
        assert str(db) in proc.stderr
    assert db.read_bytes() == b"this is not a database" * 100  # left as it was


BIG = """
import os
from ketch import FlowSpec, step

class BigFlow(FlowSpec):
    @step
    def start(self):
        self.small = "kept"
        self.next(self.big)

    @step
    def big(self):
        self.blob = os.urandom(24 * 1024 * 1024)
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    BigFlow()
"""


def test_disk_full_fails_the_task_clearly(project, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    small = tmp_path_factory.mktemp("tmpfs")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(small)], capture_output=True
    )
    if mounted.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a tmpfs: {mounted.stderr!r}")
        pytest.skip("mounting a small tmpfs needs root")
    try:
        project.write("flow.py", BIG)
        db = project.root / "meta.db"
        env = {"KETCH_HOME": str(small), "KETCH_METADATA_URL": f"sqlite:///{db}"}
        proc = project.run("flow.py", "run", **env)
        assert proc.returncode == 1
        assert "No space left on the device while storing artifact 'blob'" in proc.stdout
        assert "Traceback" not in proc.stdout + proc.stderr
        out = project.run(
            "-c",
            "from ketch import Flow; r = Flow('BigFlow').latest_run; "
            "print(r['start'].task.data.small, r.status)",
            **env,
        )
        assert out.stdout.split() == ["kept", "failed"]
        assert not [p for p in Path(small).rglob(".tmp-*")]  # no partial blob left behind
    finally:
        subprocess.run(["umount", str(small)], check=False)


def test_concurrent_runs_and_readers(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", SLOW_FOREACH)
    runs = [_start(project, "--max-workers", "16", NAP="0.05") for _ in range(2)]
    reader = project.client(
        """
        import os, time
        from ketch import Flow, Metaflow
        while not os.path.exists(".ketch/ketch.db"):
            time.sleep(0.02)
        deadline = time.time() + 3
        n = 0
        while time.time() < deadline:
            for flow in Metaflow():
                for run in flow:
                    [s.id for s in run]
                    n += 1
        print("reads", n)
        """
    )
    outputs = [r.communicate(timeout=120) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    assert reader.returncode == 0, reader.stderr
    for out, err in outputs:
        assert "locked" not in out + err
    listing = project.ketch("runs")
    assert listing.returncode == 0 and listing.stdout.count("completed") == 2
