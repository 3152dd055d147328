"""Live metrics: the points a running task logs reach the database while it runs."""

from __future__ import annotations

import json

from flowrun import clean_up, start_run, wait_for_file

LIVE_FLOW = """
import os, time
from pathlib import Path
from ketch import FlowSpec, log_metric, step

class LiveFlow(FlowSpec):
    @step
    def start(self):
        log_metric("loss", 0.5, step=0)
        Path("logged").write_text(str(os.getpid()))
        deadline = time.time() + 60
        while not Path("go").exists() and time.time() < deadline:
            time.sleep(0.01)
        for i in range(1, 7_000):  # a full batch and a rest carried by the result
            log_metric("loss", 0.5 / (i + 1), step=i)
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    LiveFlow()
"""

READ = """
import json
from ketch import Flow, namespace
namespace(None)
run = Flow("LiveFlow").latest_run
(task,) = run["start"]
print(json.dumps([run.finished, [[m.name, m.step, m.value] for m in task.metrics]]))
"""


def test_a_running_task_shows_its_points(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", LIVE_FLOW)
    proc = start_run(project)
    try:
        wait_for_file(project.root / "logged", proc)
        out = project.client(READ)  # the task waits for "go": it is still running
        assert out.returncode == 0, out.stderr
        finished, points = json.loads(out.stdout)
        assert finished is False
        assert points == [["loss", 0, 0.5]]
        (project.root / "go").write_text("")
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
    finally:
        clean_up(proc, "")
    out = project.client(READ)
    finished, points = json.loads(out.stdout)
    assert finished is True
    assert [p[1] for p in points] == list(range(7_000))  # none lost, none twice, in order
    assert points[1] == ["loss", 1, 0.25]
