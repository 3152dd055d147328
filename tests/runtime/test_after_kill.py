"""After ``kill -9`` of the scheduler no process outlives the run: neither its tasks nor what
a step started. Real processes throughout: the step writes its pid and its child's pid to a
file, and the test polls ``/proc`` until they are gone."""

from __future__ import annotations

import pytest
from flowrun import KILL_FLOW, all_gone, clean_up, kill_9, start_run, wait_for_file

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("executor", ["fork", "spawn"])
@pytest.mark.parametrize("target", ["scheduler", "group"])
def test_kill_9_ends_tasks_and_what_they_started(project, executor: str, target: str) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", KILL_FLOW)
    proc = start_run(project, "--executor", executor)
    pids = ""
    try:
        pids = wait_for_file(project.root / "pids.txt", proc)
        kill_9(proc, target)
        assert all_gone(pids), f"still running after the scheduler died: {pids}"
    finally:
        clean_up(proc, pids)


@pytest.mark.parametrize("executor", ["fork", "spawn"])
def test_a_successful_run_leaves_no_process_behind(project, executor: str) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", KILL_FLOW)
    done = project.run("flow.py", "run", "--executor", executor, QUICK="1")
    assert done.returncode == 0, done.stderr
    pids = (project.root / "pids.txt").read_text()
    assert all_gone(pids), f"left running after the run: {pids}"
