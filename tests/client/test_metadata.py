"""Task metadata, origin pathspecs after resume, and the metadata provider functions."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

FLOW = """
import os
from ketch import FlowSpec, current, get_metadata, retry, step

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
        print(get_metadata())

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
    assert f"local@{project.root.resolve()}\n" in proc.stdout  # get_metadata() inside a step
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


PROVIDER = """
import json
from ketch import metadata as first_import
import ketch
from ketch import Flow, default_metadata, get_metadata, metadata
from ketch.exceptions import StoreNotFoundError
out = {"callable_before_client": callable(first_import), "same": first_import is metadata}
out["empty"] = get_metadata()
out["switched"] = metadata("local@{root}")
run = Flow("MetaFlow").latest_run
out["plain_path"] = metadata("{root}")
out["home_path"] = metadata("{root}/.ketch")
out["db"] = metadata("sqlite:///{root}/.ketch/ketch.db")
out["db_sees"] = Flow("MetaFlow").latest_run.successful
out["default"] = default_metadata()
try:
    Flow("MetaFlow")
except StoreNotFoundError:
    out["default_has_no_store"] = True
out["kept"] = [run.successful, run["start"].task.data.items, "def start" in run.code.flowspec]
try:
    metadata("/nonexistent/place")
except StoreNotFoundError as exc:
    out["bad"] = [exc.detail, get_metadata()]
print(json.dumps(out))
"""


def test_metadata_switches_where_the_client_reads(project, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    assert project.run("flow.py", "run").returncode == 0
    root = project.root.resolve()
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    out = project.run("-c", PROVIDER.replace("{root}", str(root)), cwd=str(elsewhere))
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["callable_before_client"] and got["same"]
    assert got["empty"] == "local@<No .ketch directory found in current working tree>"
    assert got["switched"] == got["plain_path"] == got["home_path"] == f"local@{root}"
    assert got["db"] == f"db@sqlite:///{root}/.ketch/ketch.db" and got["db_sees"]
    assert got["default"] == got["empty"] and got["default_has_no_store"]
    assert got["kept"] == [True, ["a", "b"], True]  # objects keep the store they came from
    assert got["bad"] == ["There is no ketch store in /nonexistent/place.", got["empty"]]


NODE_DUMP = """
import json
from ketch import Flow
run = Flow("NodeFlow").latest_run
print(json.dumps({s.id: s.task.metadata_dict for s in run}))
"""


def test_task_metadata_names_the_node_an_attempt_ran_on(project) -> None:  # type: ignore[no-untyped-def]
    """An attempt recorded with a node (as the Ray executor's are) shows it as ``node``."""
    from dataclasses import replace

    from flowrun import linear_flow

    from ketch.metadata import open_store, sqlite_url

    project.write("flow.py", linear_flow("NodeFlow"))
    proc = project.run("flow.py", "run", "--run-id-file", "id")
    assert proc.returncode == 0, proc.stderr
    run_id = int(project.run_id("id"))
    with open_store(sqlite_url(project.root / ".ketch" / "ketch.db")) as store:
        (end,) = store.list_tasks(run_id, "end")
        (attempt,) = store.list_attempts(run_id, end.task_id)
        assert attempt.node is None  # a local run's attempts ran on the launching machine
        store.upsert_attempt(replace(attempt, node="ray:n1"))
    out = project.client(NODE_DUMP)
    assert out.returncode == 0, out.stderr
    tasks = json.loads(out.stdout)
    assert tasks["end"]["node"] == "ray:n1" and tasks["end"]["attempt_ok"] == "True"
    assert "node" not in tasks["start"]
