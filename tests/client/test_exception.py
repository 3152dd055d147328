"""``Task.exception``: Metaflow's exception wrapper (``.type``, ``.exception``, ``.stacktrace``)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

FLOW = """
import os
from ketch import FlowSpec, Parameter, catch, current, retry, step
from errs import ShapeError

class ExcFlow(FlowSpec):
    mode = Parameter("mode", default="")

    @step
    def start(self):
        self.rows = [0, 1]
        self.next(self.body, foreach="rows")

    @retry(times=1)
    @step
    def body(self):
        self.row = self.input
        if self.mode == "key" and self.input == 1:
            raise KeyError("Something has gone wrong")
        if self.mode == "custom" and self.input == 1:
            raise ShapeError("rows differ")
        if self.mode == "retry" and current.retry_count == 0:
            raise RuntimeError("first try")
        self.next(self.join)

    @step
    def join(self, inputs):
        if self.mode == "merge":
            self.merge_artifacts(inputs)
        self.next(self.risky)

    @catch(var="err", print_exception=False)
    @step
    def risky(self):
        if self.mode == "catch":
            raise ValueError("caught it")
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    ExcFlow()
"""

DUMP = """
import json, pickle, sys
from ketch import Flow, Task
run = Flow("ExcFlow").latest_run
step = sys.argv[1] if len(sys.argv) > 1 else ""
out = []
for task in (run[step] if step else []):
    e = task.exception
    first = Task(task.pathspec, attempt=0).exception
    info = None if e is None else {
        "type": e.type, "exception": e.exception, "stacktrace": e.stacktrace, "str": str(e),
        "is_exception": isinstance(e, Exception),
        "pickles": pickle.loads(pickle.dumps(e)).type == e.type,
    }
    out.append({"index": task.index, "exc": info, "first": first and first.exception,
                "attempt": task.current_attempt, "children": task.child_task_pathspecs})
err = getattr(run["risky"].task.data, "err", None) if "risky" in run else None
print(json.dumps({"tasks": out, "caught": err and [err.type, err.exception, str(err)]}))
"""


def _run(project, mode: str, step: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    project.write("errs.py", "class ShapeError(Exception):\n    pass\n")
    project.run("flow.py", "run", "--mode", mode)
    project.write("dump.py", DUMP)
    out = project.run("dump.py", step)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def _failed(out: dict[str, object]) -> dict:  # type: ignore[type-arg]
    return next(t for t in out["tasks"] if t["index"] == 1)  # type: ignore[attr-defined,index]


def test_failed_task_has_type_message_and_stacktrace(project) -> None:  # type: ignore[no-untyped-def]
    # (The sibling of the failed task may have been stopped: only the failed one is checked.)
    failed = _failed(_run(project, "key", "body"))
    exc = failed["exc"]
    assert exc["type"] == "builtins.KeyError"
    assert exc["exception"] == "'Something has gone wrong'"  # str(KeyError(...)), as Metaflow
    assert exc["stacktrace"].startswith("Traceback (most recent call last):")
    assert exc["stacktrace"].endswith("KeyError: 'Something has gone wrong'\n")
    assert 'raise KeyError("Something has gone wrong")' in exc["stacktrace"]
    assert exc["str"] == exc["stacktrace"]  # str() is the stacktrace, as in Metaflow
    assert exc["is_exception"] and exc["pickles"]
    assert failed["attempt"] == 1 and failed["first"] == "'Something has gone wrong'"
    assert failed["children"] == []  # the join never ran


def test_exception_of_a_class_from_a_module_is_qualified(project) -> None:  # type: ignore[no-untyped-def]
    exc = _failed(_run(project, "custom", "body"))["exc"]
    assert exc["type"] == "errs.ShapeError" and exc["exception"] == "rows differ"


def test_a_retried_task_that_succeeded_has_none(project) -> None:  # type: ignore[no-untyped-def]
    for task in _run(project, "retry", "body")["tasks"]:  # type: ignore[attr-defined]
        assert task["exc"] is None and task["attempt"] == 1
        assert task["first"] == "first try"  # Task(..., attempt=0) sees the first attempt's


def test_a_ketch_error_has_no_stacktrace(project) -> None:  # type: ignore[no-untyped-def]
    exc = _run(project, "merge", "join")["tasks"][0]["exc"]  # type: ignore[index]
    assert exc["type"] == "ketch.exceptions.MergeArtifactsError"
    assert "row" in exc["exception"] and exc["stacktrace"] == ""
    assert exc["str"] == f"[no stacktrace]\n{exc['type']}: {exc['exception']}"


def test_catch_leaves_no_task_exception_and_stores_the_wrapper(project) -> None:  # type: ignore[no-untyped-def]
    out = _run(project, "catch", "risky")
    assert out["tasks"][0]["exc"] is None  # type: ignore[index]
    kind, message, text = out["caught"]  # type: ignore[misc]
    assert (kind, message) == ("builtins.ValueError", "caught it")
    assert text.startswith("Traceback") and text.endswith("ValueError: caught it\n")
