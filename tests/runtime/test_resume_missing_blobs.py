"""``resume`` of a run whose blobs were deleted: the tasks that lost them run again (with a
warning naming them) instead of being cloned into a "successful" run nobody can read."""

from __future__ import annotations

import pytest
from flowrun import Project, damage_blob

pytestmark = pytest.mark.slow

FLOW = """
import os
from ketch import FlowSpec, Parameter, step

class LostFlow(FlowSpec):
    scale = Parameter("scale", default=2)

    @step
    def start(self):
        print("start ran")
        self.numbers = [1, 2, 3]
        self.next(self.middle)

    @step
    def middle(self):
        print("middle ran")
        self.total = sum(self.numbers) * self.scale
        self.next(self.end)

    @step
    def end(self):
        if os.environ.get("FAIL_END"):
            raise RuntimeError("end fails")
        print("TOTAL", self.total)

if __name__ == "__main__":
    LostFlow()
"""


def _failed_run(project: Project) -> tuple[str, dict[str, str]]:
    """A run whose end step failed; its id and the blob keys of its artifacts by pathspec."""
    project.write("flow.py", FLOW)
    proc = project.run("flow.py", "run", "--run-id-file", "origin", FAIL_END="1")
    assert proc.returncode == 1
    run_id = project.run_id("origin")
    out = project.client(
        f"""
        from ketch import Run
        run = Run("LostFlow/{run_id}")
        for step in ("start", "middle"):
            task = run[step].task
            for record in task._artifact_records():
                print(f"{{step}}/{{task.id}}/{{record.name}}", record.key)
        """
    )
    assert out.returncode == 0, out.stderr
    return run_id, dict(line.split() for line in out.stdout.splitlines())


def test_a_task_whose_blob_is_missing_runs_again(project: Project) -> None:
    run_id, keys = _failed_run(project)
    (middle,) = [p for p in keys if p.startswith("middle/") and p.endswith("/total")]
    damage_blob(project.root / ".ketch", keys[middle], None)

    proc = project.run("flow.py", "resume", "--run-id-file", "resumed")
    assert proc.returncode == 0, proc.stderr
    output = proc.stdout + proc.stderr
    task = middle.rsplit("/", 1)[0]
    assert (
        f"Warning: LostFlow/{run_id}/{task} runs again (and what follows it) instead of being "
        f"cloned: the blob {keys[middle]} of its artifact LostFlow/{run_id}/{middle} is missing"
    ) in output
    assert "start ran" not in output  # start kept its blobs: cloned
    assert "middle ran" in output and "TOTAL 12" in output

    resumed = project.run_id("resumed")
    read = project.client(
        f"""
        from ketch import Run
        run = Run("LostFlow/{resumed}")
        print(run.successful, run.data.total,
              [run[s].task.origin_pathspec is not None for s in ("start", "middle", "end")])
        """
    )
    assert read.returncode == 0, read.stderr
    assert read.stdout.split() == ["True", "12", "[True,", "False,", "False]"]


def test_a_run_whose_parameter_blob_is_missing_is_not_resumed(project: Project) -> None:
    run_id, _keys = _failed_run(project)
    from ketch.metadata import open_store, sqlite_url

    with open_store(sqlite_url(project.root / ".ketch" / "ketch.db")) as store:
        (scale,) = store.get_parameters(int(run_id))
    key = scale.key
    damage_blob(project.root / ".ketch", key, None)

    proc = project.run("flow.py", "resume")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert (
        f"Run LostFlow/{run_id} cannot be resumed: the blob {key} of its artifact "
        f"LostFlow/{run_id}/_parameters/0/scale is missing from the datastore."
    ) in proc.stderr
    assert "ran" not in proc.stdout + proc.stderr  # no task ran
