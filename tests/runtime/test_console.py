"""What a run prints: task lines, and a compact progress view in a terminal."""

from __future__ import annotations

import io

from ketch.runtime._console import PROGRESS_THRESHOLD, Reporter
from ketch.runtime._spec import TaskSpec


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _spec(task_id: int) -> TaskSpec:
    return TaskSpec(
        flow_name="F",
        flow_file="f.py",
        flow_class="F",
        run_id=7,
        step_name="body",
        task_id=task_id,
        attempt=0,
        inputs=(),
        parameters={},
        frames=(),
        var_keys=(),
        datastore_url="/tmp",
        username="u",
    )


def test_lines_are_prefixed_with_the_task() -> None:
    out = io.StringIO()
    reporter = Reporter(out)
    reporter.task_started(_spec(3), 99)
    reporter.task_output(_spec(3), "stdout", b"hello")
    reporter.task_finished(_spec(3), True)
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("[7/body/3 (pid 99)] Task is starting.")
    assert lines[1].endswith("[7/body/3 (pid 99)] hello")
    assert lines[2].endswith("Task finished successfully.")


def test_many_tasks_in_a_terminal_switch_to_a_progress_table() -> None:
    out = _Terminal()
    reporter = Reporter(out)
    total = PROGRESS_THRESHOLD * 3
    for task_id in range(total):
        reporter.task_started(_spec(task_id), 1000 + task_id)
        reporter.task_output(_spec(task_id), "stdout", b"noise")
        reporter.task_finished(_spec(task_id), True)
    reporter.run_finished(True)
    text = out.getvalue()
    assert text.count("noise") == PROGRESS_THRESHOLD  # only before the switch
    assert "running" in text and "done" in text and f"{total}" in text
    assert text.rstrip().endswith("Done!")


def test_a_closed_pipe_stops_printing_but_not_the_run() -> None:
    class Broken(io.StringIO):
        def write(self, s: str) -> int:
            raise BrokenPipeError

    reporter = Reporter(Broken())
    reporter.task_started(_spec(1), 5)  # must not raise
    reporter.run_finished(True)
