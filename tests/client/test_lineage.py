"""Task lineage: parent and child tasks and steps, across a branch, nested foreach and joins.

Each task records, while it runs, its own pathspec and those of the tasks it took its inputs
from (as Metaflow's ``runtime_dag`` core test does); the Client must answer the same.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

FLOW = """
from ketch import FlowSpec, current, step

class LineageFlow(FlowSpec):
    def _mark(self, parents):
        self.parents = sorted(parents)
        self.me = current.pathspec

    @step
    def start(self):
        self._mark([])
        self.next(self.a, self.b)

    @step
    def a(self):
        self._mark([self.me])
        self.next(self.join_ab)

    @step
    def b(self):
        self._mark([self.me])
        self.next(self.join_ab)

    @step
    def join_ab(self, inputs):
        self._mark([i.me for i in inputs])
        self.next(self.fan)

    @step
    def fan(self):
        self._mark([self.me])
        self.xs = ["p", "q"]
        self.next(self.outer, foreach="xs")

    @step
    def outer(self):
        self._mark([self.me])
        self.ys = [1, 2]
        self.next(self.inner, foreach="ys")

    @step
    def inner(self):
        self._mark([self.me])
        self.next(self.leaf)

    @step
    def leaf(self):
        self._mark([self.me])
        self.next(self.inner_join)

    @step
    def inner_join(self, inputs):
        self._mark([i.me for i in inputs])
        self.next(self.outer_join)

    @step
    def outer_join(self, inputs):
        self._mark([i.me for i in inputs])
        self.next(self.end)

    @step
    def end(self):
        self._mark([self.me])

if __name__ == "__main__":
    LineageFlow()
"""

DUMP = """
import json
from ketch import Flow
run = Flow("LineageFlow").latest_run
out = {}
for step in run:
    for task in step:
        out[task.pathspec] = {
            "step": step.id,
            "recorded": task.data.parents,
            "parents": task.parent_task_pathspecs,
            "children": task.child_task_pathspecs,
            "child_tasks": [t.pathspec for t in task.child_tasks],
            "parent_tasks": [t.pathspec for t in task.parent_tasks],
        }
steps = {s.id: [[p.id for p in s.parent_steps], [c.id for c in s.child_steps]] for s in run}
print(json.dumps({"tasks": out, "steps": steps}))
"""


@pytest.fixture(scope="module")
def lineage(tmp_path_factory):  # type: ignore[no-untyped-def]
    from flowrun import Project

    project = Project(tmp_path_factory.mktemp("lineage"))
    project.write("flow.py", FLOW)
    proc = project.run("flow.py", "run")
    assert proc.returncode == 0, proc.stderr
    out = project.client(DUMP)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_parents_are_the_tasks_each_task_took_its_inputs_from(lineage) -> None:  # type: ignore[no-untyped-def]
    for pathspec, task in lineage["tasks"].items():
        assert sorted(task["parents"]) == task["recorded"], pathspec
        assert task["parent_tasks"] == task["parents"]


def test_children_are_the_tasks_that_took_this_one_as_input(lineage) -> None:  # type: ignore[no-untyped-def]
    tasks = lineage["tasks"]
    for pathspec, task in tasks.items():
        expected = sorted(p for p, other in tasks.items() if pathspec in other["recorded"])
        assert sorted(task["children"]) == expected, pathspec
        assert task["child_tasks"] == task["children"]


def test_child_counts_across_splits_and_joins(lineage) -> None:  # type: ignore[no-untyped-def]
    counts: dict[str, list[int]] = {}
    for task in lineage["tasks"].values():
        counts.setdefault(task["step"], []).append(len(task["children"]))
    assert counts["start"] == [2]  # both branches
    assert counts["join_ab"] == [1]
    assert counts["fan"] == [2]  # every split of the outer foreach
    assert counts["outer"] == [2, 2]  # each outer task: its own inner splits only
    assert counts["inner"] == [1] * 4 and counts["leaf"] == [1] * 4
    assert counts["inner_join"] == [1, 1]  # the one outer join, from each inner join
    assert counts["end"] == [0]
    parents = {t["step"]: len(t["parents"]) for t in lineage["tasks"].values()}
    assert parents["start"] == 0 and parents["join_ab"] == 2 and parents["outer_join"] == 2


def test_parent_and_child_steps(lineage) -> None:  # type: ignore[no-untyped-def]
    steps = lineage["steps"]
    assert steps["start"] == [[], ["a", "b"]]
    assert steps["join_ab"] == [["a", "b"], ["fan"]]
    assert steps["fan"] == [["join_ab"], ["outer"]]
    assert steps["inner_join"] == [["leaf"], ["outer_join"]]
    assert steps["end"] == [["outer_join"], []]
