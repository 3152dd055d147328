"""``resume``: clone what succeeded, run the rest, across foreach and nested foreach."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

FLOW = """
import os
from ketch import FlowSpec, step, Parameter

class ResumeFlow(FlowSpec):
    scale = Parameter("scale", default=1)

    @step
    def start(self):
        self.outer = [0, 1, 2]
        self.next(self.mid, foreach="outer")

    @step
    def mid(self):
        self.o = self.input
        self.inner = ["a", "b"]
        self.next(self.leaf, foreach="inner")

    @step
    def leaf(self):
        if os.environ.get("BREAK") == f"{self.o}{self.input}":
            raise RuntimeError("broken leaf")
        self.value = f"{self.o}{self.input}x{self.scale}"
        self.next(self.inner_join)

    @step
    def inner_join(self, inputs):
        self.values = [i.value for i in inputs]
        self.next(self.outer_join)

    @step
    def outer_join(self, inputs):
        self.all = [v for i in inputs for v in i.values]
        self.next(self.end)

    @step
    def end(self):
        print("ALL", self.all)

if __name__ == "__main__":
    ResumeFlow()
"""

EXPECTED = ["0ax3", "0bx3", "1ax3", "1bx3", "2ax3", "2bx3"]


def _tasks(project, run: str = "") -> dict[str, list[list[object]]]:  # type: ignore[no-untyped-def]
    out = project.client(
        f"""
        import json
        from ketch import Flow, Run
        run = Run("ResumeFlow/{run}") if "{run}" else Flow("ResumeFlow").latest_run
        print(json.dumps({{
            "run": [run.successful, run.origin_pathspec],
            **{{s.id: [[t.origin_pathspec is not None, t.successful] for t in s] for s in run}},
        }}))
        """
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_resume_reruns_only_failed_split_and_downstream(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    failed = project.run(
        "flow.py",
        "run",
        "--scale",
        "3",
        "--max-workers",
        "1",
        "--run-id-file",
        "run-id",
        BREAK="1b",
    )
    assert failed.returncode == 1
    resumed = project.run("flow.py", "resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"ALL {EXPECTED}" in resumed.stdout  # parameters come from the origin run
    tasks = _tasks(project)
    assert tasks["run"] == [True, f"ResumeFlow/{project.run_id()}"]
    assert tasks["start"] == [[True, True]]
    assert tasks["mid"] == [[True, True]] * 3
    # With one worker the run stopped at leaf 1b: 0a 0b 1a were done and are cloned.
    assert tasks["leaf"] == [[True, True]] * 3 + [[False, True]] + [[False, True]] * 2
    assert tasks["inner_join"] == [[False, True]] * 3  # FIFO: leaves ran before any join
    assert tasks["outer_join"] == [[False, True]]


def test_resume_from_named_step_and_of_a_successful_run(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    assert project.run("flow.py", "run", "--scale", "3", "--run-id-file", "run-id").returncode == 0
    whole = project.run("flow.py", "resume")
    assert whole.returncode == 0, whole.stderr
    data = project.client("from ketch import Flow; print(Flow('ResumeFlow').latest_run.data.all)")
    assert data.stdout.strip() == str(EXPECTED)
    assert all(t[0] for s, ts in _tasks(project).items() if s != "run" for t in ts)
    origin = project.run_id()
    again = project.run("flow.py", "resume", "inner_join", "--origin-run-id", origin)
    assert again.returncode == 0, again.stderr
    tasks = _tasks(project)
    assert all(t == [True, True] for t in tasks["leaf"])
    assert all(t == [False, True] for t in tasks["inner_join"] + tasks["outer_join"])


def test_resume_bad_input(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    proc = project.run("flow.py", "resume")
    assert proc.returncode == 1 and "No ketch store" in proc.stderr
    assert project.run("flow.py", "run", "--run-id-file", "run-id", BREAK="0a").returncode == 1
    origin = project.run_id()
    other = FLOW.replace("ResumeFlow", "OtherFlow")
    project.write("other.py", other)
    assert project.run("other.py", "run", "--run-id-file", "other").returncode == 0
    for run_id in ("77", project.run_id("other"), "abc"):
        proc = project.run("flow.py", "resume", "--origin-run-id", run_id)
        assert proc.returncode == 1
        assert f"Run 'ResumeFlow/{run_id}' does not exist" in proc.stderr
        assert "Traceback" not in proc.stderr
    proc = project.run("flow.py", "resume", "nosuchstep")
    assert proc.returncode == 1 and "Step 'nosuchstep' does not exist" in proc.stderr
    # The failed step 'leaf' is renamed: resume cannot tell where to restart.
    project.write("flow.py", FLOW.replace("leaf", "leaf2"))
    proc = project.run("flow.py", "resume", "--origin-run-id", origin)
    assert proc.returncode == 1
    assert f"Step 'leaf' failed in run ResumeFlow/{origin} but no longer exists" in proc.stderr
    ok = project.run("flow.py", "resume", "mid", "--origin-run-id", origin)
    assert ok.returncode == 0, ok.stderr


CURRENT_FLOW = """
from ketch import FlowSpec, step, current

class CurrentResumeFlow(FlowSpec):
    @step
    def start(self):
        self.seen_start = [current.run_id, current.origin_run_id]
        self.next(self.middle)

    @step
    def middle(self):
        # Fails in the original run only: a resumed run knows where it came from.
        if current.origin_run_id is None:
            raise RuntimeError("no origin run")
        self.seen_middle = [current.run_id, current.origin_run_id, current.retry_count,
                            sorted(current.tags), current.pathspec]
        self.next(self.end)

    @step
    def end(self):
        self.seen_end = [current.run_id, current.origin_run_id]

if __name__ == "__main__":
    CurrentResumeFlow()
"""


def test_resumed_tasks_see_the_origin_run(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", CURRENT_FLOW)
    failed = project.run("flow.py", "run", "--tag", "first", "--run-id-file", "origin")
    assert failed.returncode == 1 and "no origin run" in failed.stdout + failed.stderr
    origin = project.run_id("origin")
    resumed = project.run("flow.py", "resume", "--tag", "again", "--run-id-file", "resumed")
    assert resumed.returncode == 0, resumed.stderr
    new = project.run_id("resumed")
    out = project.client(
        """
        import json
        from ketch import Flow
        run = Flow("CurrentResumeFlow").latest_run
        print(json.dumps([run["end"].task.data.seen_start, run["end"].task.data.seen_middle,
                          run["end"].task.data.seen_end]))
        """
    )
    assert out.returncode == 0, out.stderr
    start, middle, end = json.loads(out.stdout)
    assert start == [origin, None]  # start was cloned: what it saw in the original run
    assert middle == [new, origin, 0, ["again"], f"CurrentResumeFlow/{new}/middle/2"]
    assert end == [new, origin]
