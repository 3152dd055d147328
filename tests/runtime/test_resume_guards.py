"""A run's parameters are recorded before its first task, and ``resume`` refuses what it
cannot resume: a run that is still running, a run whose parameters were not recorded."""

from __future__ import annotations

import socket
import sqlite3
from contextlib import closing

import pytest
from flowrun import KILL_FLOW, all_gone, clean_up, kill_9, process_started, start_run, wait_for_file

pytestmark = pytest.mark.slow


def test_parameters_are_recorded_before_the_first_task(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", KILL_FLOW)
    proc = start_run(project, "--n", "7")
    pids = ""
    try:
        pids = wait_for_file(project.root / "pids.txt", proc)  # the first task has started
        kill_9(proc)
        assert all_gone(pids)
    finally:
        clean_up(proc, pids)
    run_id = project.run_id()
    with closing(sqlite3.connect(project.root / ".ketch" / "ketch.db")) as db, db:
        rows = db.execute("SELECT name, value_json FROM parameters WHERE run_id = ?", (run_id,))
        assert rows.fetchall() == [("n", "7")]
    (project.root / "pids.txt").unlink()
    resumed = project.run("flow.py", "resume", QUICK="1")
    assert resumed.returncode == 0, resumed.stderr
    assert "N 7 7" in resumed.stdout  # `start` ran again, with the recorded n


def test_resume_refuses_a_run_that_is_still_running(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", KILL_FLOW)
    proc = start_run(project, "--n", "3")
    pids = ""
    try:
        pids = wait_for_file(project.root / "pids.txt", proc)
        refused = project.run("flow.py", "resume", QUICK="1")
        run_id = project.run_id()
        assert refused.returncode == 1
        assert f"Run 'KillFlow/{run_id}' is still running" in refused.stderr
        assert f"process {proc.pid} on {socket.gethostname()}" in refused.stderr
        assert f"kill {proc.pid}" in refused.stderr and "Traceback" not in refused.stderr
        assert proc.poll() is None  # the run goes on, untouched
        task, task_start, child, child_start = pids.split()
        assert process_started(int(task)) == task_start
        assert process_started(int(child)) == child_start
        kill_9(proc)  # its record still says "running", but its scheduler is gone
    finally:
        clean_up(proc, pids)
    (project.root / "pids.txt").unlink()
    resumed = project.run("flow.py", "resume", QUICK="1")
    assert resumed.returncode == 0, resumed.stderr
    assert "N 3 3" in resumed.stdout


def test_resume_refuses_a_run_without_recorded_parameters(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", KILL_FLOW)
    done = project.run("flow.py", "run", "--n", "5", "--run-id-file", "run-id", QUICK="1")
    assert done.returncode == 0, done.stderr
    run_id = project.run_id()
    # What a run killed before its parameters were recorded looked like: no _parameters task.
    with closing(sqlite3.connect(project.root / ".ketch" / "ketch.db")) as db, db:
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("DELETE FROM tasks WHERE run_id = ? AND task_id = 0", (run_id,))
        db.execute("DELETE FROM parameters WHERE run_id = ?", (run_id,))
    resumed = project.run("flow.py", "resume", "start", QUICK="1")
    assert resumed.returncode == 1
    assert f"Run 'KillFlow/{run_id}' has no record of its parameters" in resumed.stderr
    assert "python flow.py run" in resumed.stderr and "Traceback" not in resumed.stderr
