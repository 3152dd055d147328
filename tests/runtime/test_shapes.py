"""Flows of every shape run in real processes and read back through the Client API."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

BRANCHES = """
from ketch import FlowSpec, step

class BranchFlow(FlowSpec):
    @step
    def start(self):
        self.common = "shared"
        self.big = list(range(1000))
        self.next(self.a, self.b)

    @step
    def a(self):
        self.x = 1
        self.only_a = "A"
        self.next(self.join)

    @step
    def b(self):
        self.x = 2
        self.next(self.join)

    @step
    def join(self, inputs):
        self.xs = [inputs.a.x, inputs.b.x, inputs[0].x, len(inputs)]
        self.seen = sorted(repr(i) for i in inputs)
        self.merge_artifacts(inputs, exclude=["x"])
        self.next(self.end)

    @step
    def end(self):
        print("end", self.xs, self.common, self.only_a)

if __name__ == "__main__":
    BranchFlow()
"""


def _json(proc) -> object:  # type: ignore[no-untyped-def]
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_static_branch_join_and_merge(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", BRANCHES)
    proc = project.run("flow.py", "run")
    assert proc.returncode == 0, proc.stderr
    assert "end [1, 2, 1, 2] shared A" in proc.stdout
    out = _json(
        project.client(
            """
            import json
            from ketch import Flow
            run = Flow("BranchFlow").latest_run
            end = run["end"].task
            print(json.dumps({
                "ok": run.successful, "finished": run.finished,
                "steps": [s.id for s in run],
                "end": sorted(a.id for a in end.artifacts),
                "big": run.data.big[-1],
                "join_inputs": run["join"].task.parent_task_pathspecs,
            }))
            """
        )
    )
    assert out["ok"] and out["finished"]  # type: ignore[index]
    assert out["steps"] == ["end", "join", "b", "a", "start"]  # type: ignore[index]
    # x was excluded from the merge and only_a exists in one branch only: merged.
    assert out["end"] == ["big", "common", "name", "only_a", "seen", "xs"]  # type: ignore[index]
    assert out["big"] == 999  # type: ignore[index]
    assert [p.split("/")[2] for p in out["join_inputs"]] == ["a", "b"]  # type: ignore[index]


FOREACH = """
from ketch import FlowSpec, step

class NestFlow(FlowSpec):
    @step
    def start(self):
        self.outer = ["x", "y", "z"]
        self.next(self.mid, foreach="outer")

    @step
    def mid(self):
        self.letter = self.input
        self.inner = [10, 20]
        self.next(self.leaf, foreach="inner")

    @step
    def leaf(self):
        self.value = f"{self.letter}{self.input}"
        self.stack = [(i, n, v) for i, n, v in self.foreach_stack()]
        self.my_index = self.index
        self.next(self.inner_join)

    @step
    def inner_join(self, inputs):
        self.values = [i.value for i in inputs]
        self.outer_index = self.index
        self.next(self.outer_join)

    @step
    def outer_join(self, inputs):
        self.all = [v for i in inputs for v in i.values]
        self.next(self.end)

    @step
    def end(self):
        print("ALL", self.all)

if __name__ == "__main__":
    NestFlow()
"""


@pytest.mark.parametrize("executor", ["fork", "spawn"])
def test_nested_foreach(project, executor: str) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FOREACH)
    proc = project.run("flow.py", "run", "--max-workers", "3", "--executor", executor)
    assert proc.returncode == 0, proc.stderr
    assert "ALL ['x10', 'x20', 'y10', 'y20', 'z10', 'z20']" in proc.stdout
    out = _json(
        project.client(
            """
            import json
            from ketch import Flow
            run = Flow("NestFlow").latest_run
            leaves = list(run["leaf"])
            print(json.dumps({
                "values": [t.data.value for t in leaves],
                "index": [t.index for t in leaves],
                "stack": leaves[3].data.stack,
                "mids": [t.data.letter for t in run["mid"]],
                "inner_join_index": [t.data.outer_index for t in run["inner_join"]],
            }))
            """
        )
    )
    assert out["values"] == ["x10", "x20", "y10", "y20", "z10", "z20"]  # type: ignore[index]
    assert out["index"] == [0, 1, 0, 1, 0, 1]  # type: ignore[index]
    assert out["stack"] == [[1, 3, "y"], [1, 2, 20]]  # type: ignore[index]
    assert out["mids"] == ["x", "y", "z"]  # type: ignore[index]
    assert out["inner_join_index"] == [0, 1, 2]  # type: ignore[index]


FOREACH_BRANCH = """
from ketch import FlowSpec, step

class MixFlow(FlowSpec):
    @step
    def start(self):
        self.items = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
        self.next(self.split)

    @step
    def split(self):
        self.next(self.body, foreach="items")

    @step
    def body(self):
        self.n = self.input
        self.next(self.sq, self.cube)

    @step
    def sq(self):
        self.r = self.n ** 2
        self.next(self.both)

    @step
    def cube(self):
        self.r = self.n ** 3
        self.next(self.both)

    @step
    def both(self, inputs):
        self.total = inputs.sq.r + inputs.cube.r
        self.next(self.join)

    @step
    def join(self, inputs):
        self.totals = [i.total for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        print("TOTALS", self.totals)

if __name__ == "__main__":
    MixFlow()
"""


def test_branch_inside_foreach_orders_inputs_by_index(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FOREACH_BRANCH)
    proc = project.run("flow.py", "run", "--max-workers", "4")
    assert proc.returncode == 0, proc.stderr
    expected = [n**2 + n**3 for n in range(1, 13)]
    assert f"TOTALS {expected}" in proc.stdout


THREADS_IN_TASKS = """
import logging, random, sys, threading
from ketch import FlowSpec, step

logging.basicConfig(stream=sys.stderr, format="log: %(message)s", level=logging.INFO)

class ThreadsFlow(FlowSpec):
    @step
    def start(self):
        self.items = list(range(6))
        self.next(self.work, foreach="items")

    @step
    def work(self):
        found = []

        def run():  # takes logging's module lock, which the fork must leave unlocked
            logging.getLogger(f"worker.{self.input}").info("from a thread")
            found.append(threading.current_thread().name)

        worker = threading.Thread(target=run)
        worker.start()
        worker.join(timeout=10)
        logging.info("task %d ran a thread: %s", self.input, found)
        self.thread_ran = found == [worker.name] and not worker.is_alive()
        self.main = threading.current_thread() is threading.main_thread()
        self.draw = random.random()
        self.next(self.join)

    @step
    def join(self, inputs):
        self.ok = all(i.thread_ran and i.main for i in inputs)
        self.draws = len({i.draw for i in inputs})
        self.next(self.end)

    @step
    def end(self):
        print("threads", self.ok, "distinct draws", self.draws)

if __name__ == "__main__":
    ThreadsFlow()
"""


def test_tasks_use_threads_logging_and_random(project) -> None:  # type: ignore[no-untyped-def]
    """The fork server trims the after-fork hooks of threading and logging: threads, logging
    and (reseeded) random numbers still work in every task as in a fresh process."""
    project.write("flow.py", THREADS_IN_TASKS)
    proc = project.run("flow.py", "run", "--max-workers", "3", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "threads True distinct draws 6" in proc.stdout
    for i in range(6):
        assert f"log: task {i} ran a thread: ['Thread-" in proc.stdout + proc.stderr


FORK_FROM_A_TASK = """
import multiprocessing, threading
from ketch import FlowSpec, step

def child_work(queue):
    queue.put(len(threading.enumerate()))

class ForkingFlow(FlowSpec):
    @step
    def start(self):
        release = threading.Event()
        busy = threading.Thread(target=release.wait)  # a non-daemon thread, running
        busy.start()
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        process = context.Process(target=child_work, args=(queue,))
        process.start()
        self.threads_in_child = queue.get(timeout=20)
        process.join(timeout=20)
        self.child_exit = process.exitcode
        release.set()
        busy.join()
        self.next(self.end)

    @step
    def end(self):
        print("child exit", self.child_exit, "threads in child", self.threads_in_child)

if __name__ == "__main__":
    ForkingFlow()
"""


def test_a_task_can_fork_while_its_threads_run(project) -> None:  # type: ignore[no-untyped-def]
    """Processes a task forks get Python's full after-fork repair (the fork server's trimmed
    hooks are for its own children only): the child sees one thread and exits."""
    project.write("flow.py", FORK_FROM_A_TASK)
    proc = project.run("flow.py", "run", timeout=90)
    assert proc.returncode == 0, proc.stderr
    assert "child exit 0 threads in child 1" in proc.stdout
