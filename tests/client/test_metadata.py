"""Task metadata, and origin pathspecs after resume."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

FLOW = """
import os
from ketch import FlowSpec, current, retry, step

class MetaFlow(FlowSpec):
    @step
    def start(self):
        self.items = ["a", "b"]
        self.next(self.body, foreach="items")

    @retry(times=1)
    @step
    def body(self):
        if self.input == "b" and current.retry_count == 0:
            raise RuntimeError("flaky")
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        if os.environ.get("FAIL_END"):
            raise ValueError("end fails")

if __name__ == "__main__":
    MetaFlow()
"""

DUMP = """
import json
from ketch import Flow
run = Flow("MetaFlow").latest_run
tasks = {}
for step in run:
    for task in step:
        tasks[f"{step.id}/{task.index}"] = {
            "dict": task.metadata_dict,
            "attempts": sorted((m.value, m.type) for m in task.metadata if m.name == "attempt"),
            "fields": sorted({m.name for m in task.metadata}),
            "origin": task.origin_pathspec,
            "same_task": all(m.task.pathspec == task.pathspec for m in task.metadata),
            "ms": all(isinstance(m.created_at, int) for m in task.metadata),
        }
print(json.dumps({"id": run.id, "origin": run.origin_pathspec,
                  "step_origin": {s.id: s.origin_pathspec for s in run}, "tasks": tasks}))
"""


def _dump(project) -> dict:  # type: ignore[no-untyped-def,type-arg]
    out = project.client(DUMP)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_task_metadata_of_a_run(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    proc = project.run("flow.py", "run")
    assert proc.returncode == 0, proc.stderr
    run = _dump(project)
    start = run["tasks"]["start/None"]["dict"]
    assert start["user"] == "tester" and start["runtime"] == "dev"
    assert start["script-name"] == "flow.py" and start["python_version"].count(".") == 2
    assert start["origin-run-id"] == "None" and "origin-task-id" not in start
    assert (start["attempt"], start["attempt_ok"], start["attempt-done"]) == ("0", "True", "0")
    assert "foreach-stack" not in start and "foreach-execution-path" not in start
    flaky = run["tasks"]["body/1"]
    assert flaky["dict"]["foreach-stack"] == ["items=b"]
    assert flaky["dict"]["foreach-execution-path"] == "body:1"
    assert flaky["attempts"] == [["0", "attempt"], ["1", "attempt"]]  # one entry per attempt
    assert (flaky["dict"]["attempt"], flaky["dict"]["attempt_ok"]) == ("1", "True")
    assert run["tasks"]["body/0"]["attempts"] == [["0", "attempt"]]
    assert all(t["same_task"] and t["ms"] for t in run["tasks"].values())
    assert run["origin"] is None and set(run["step_origin"].values()) == {None}


def test_resumed_run_origins_and_clone_metadata(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    assert project.run("flow.py", "run", FAIL_END="1").returncode == 1
    first = _dump(project)
    proc = project.run("flow.py", "resume")
    assert proc.returncode == 0, proc.stderr
    run = _dump(project)
    origin = f"MetaFlow/{first['id']}"
    assert run["origin"] == origin
    assert run["step_origin"] == {s: f"{origin}/{s}" for s in ("start", "body", "join", "end")}
    end = run["tasks"]["end/None"]
    assert end["origin"] is None  # re-executed, not cloned
    assert end["dict"]["origin-run-id"] == first["id"] and "origin-task-id" not in end["dict"]
    for key, task in run["tasks"].items():
        if key == "end/None":
            continue
        meta = task["dict"]
        assert meta["origin-run-id"] == first["id"]
        assert task["origin"] == f"{origin}/{key.split('/')[0]}/{meta['origin-task-id']}"
        # A clone's metadata is its origin's, but for the origin ids (Metaflow's own check).
        before = {k: v for k, v in first["tasks"][key]["dict"].items() if "origin" not in k}
        after = {k: v for k, v in meta.items() if "origin" not in k}
        if key == "body/1":  # the clone's one attempt vs its origin's two
            before["attempt"] = before["attempt-done"] = "0"
        assert after == before, key
