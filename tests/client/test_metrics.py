"""``log_metric`` end to end: a flow logs in a foreach, the Client reads ``Task.metrics`` and
``Run.metrics`` back; a failing task keeps what it logged before failing."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

FLOW = """
from ketch import FlowSpec, Parameter, log_metric, log_metrics, step

class MetricFlow(FlowSpec):
    fail = Parameter("fail", default=False, type=bool)

    @step
    def start(self):
        self.lrs = [0.1, 0.01]
        self.next(self.train, foreach="lrs")

    @step
    def train(self):
        for epoch in range(3):
            log_metrics({"loss": self.input / (epoch + 1), "acc": 0.5 + epoch / 10}, step=epoch)
        log_metric("nan", float("nan"))
        if self.fail and self.input == 0.01:
            raise RuntimeError("diverged")
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    MetricFlow()
"""

READ = """
import json, math
from ketch import Flow, namespace
namespace(None)
run = Flow("MetricFlow").latest_run
out = {"run": [[m.pathspec.split("/", 2)[2], m.name, m.step, m.value] for m in run.metrics]}
for task in run["train"]:
    out[task.pathspec] = [[m.name, m.step, m.value] for m in task.metrics]
out["start"] = len(list(run["start"])[0].metrics)
frame = run.metrics.to_pandas()
out["columns"] = list(frame.columns)
out["pivot"] = frame[frame.name == "loss"].groupby("step")["value"].count().tolist()
out["names"] = run.metrics.names()
print(json.dumps(out, default=str).replace("NaN", '"nan"'))
"""


def _read(project) -> dict:  # type: ignore[no-untyped-def]
    project.write("read.py", READ)
    out = project.run("read.py")
    assert out.returncode == 0, out.stderr
    result: dict = json.loads(out.stdout)
    return result


def test_foreach_tasks_log_and_the_client_reads_back(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    ran = project.run("flow.py", "run")
    assert ran.returncode == 0, ran.stderr
    got = _read(project)
    trains = sorted(k for k in got if k.startswith("MetricFlow/"))
    assert len(trains) == 2
    for pathspec in trains:
        rows = got[pathspec]
        assert [(n, s) for n, s, _ in rows] == [
            ("loss", 0),
            ("acc", 0),
            ("loss", 1),
            ("acc", 1),
            ("loss", 2),
            ("acc", 2),
            ("nan", None),
        ]
        assert rows[-1][2] == "nan"
    lr = {got[p][0][2] for p in trains}
    assert lr == {0.1, 0.01}
    assert len(got["run"]) == 14 and {r[0].split("/")[0] for r in got["run"]} == {"train"}
    assert got["start"] == 0
    assert got["columns"] == ["name", "step", "value", "timestamp", "pathspec"]
    assert got["pivot"] == [2, 2, 2]
    assert got["names"] == ["loss", "acc", "nan"]


def test_a_failing_task_keeps_what_it_logged(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    ran = project.run("flow.py", "run", "--fail", "true")
    assert ran.returncode != 0 and "diverged" in ran.stderr
    got = _read(project)
    trains = sorted(k for k in got if k.startswith("MetricFlow/"))
    failed = [got[p] for p in trains if got[p] and got[p][0][2] == 0.01]
    assert len(failed) == 1 and len(failed[0]) == 7  # (the other task may have been cancelled)


def test_log_metric_outside_a_task_is_a_user_error(project) -> None:  # type: ignore[no-untyped-def]
    out = project.client(
        """
        from ketch import log_metric
        from ketch.exceptions import UserError
        try:
            log_metric("loss", 1.0)
        except UserError as exc:
            print(exc.format())
        """
    )
    assert out.returncode == 0, out.stderr
    assert "log_metric called outside a task" in out.stdout
    assert "Hint: Call it inside a @step" in out.stdout


def test_a_bad_value_fails_the_step_naming_the_metric(project) -> None:  # type: ignore[no-untyped-def]
    project.write(
        "bad.py",
        """
        from ketch import FlowSpec, log_metric, step

        class BadMetricFlow(FlowSpec):
            @step
            def start(self):
                log_metric("loss", "0.5")
                self.next(self.end)

            @step
            def end(self):
                pass

        if __name__ == "__main__":
            BadMetricFlow()
        """,
    )
    ran = project.run("bad.py", "run")
    assert ran.returncode != 0
    both = ran.stdout + ran.stderr
    assert "Invalid metric" in both and "metric 'loss': str '0.5' is not a number" in both
    assert "Hint: Log an int or a float" in both and "Traceback" not in both


RETRY_FLOW = """
import time
from ketch import FlowSpec, current, log_metric, retry, step, timeout

class RetryMetricFlow(FlowSpec):
    @retry(times=1)
    @step
    def start(self):
        log_metric("attempt", current.retry_count)
        if current.retry_count == 0:
            raise RuntimeError("first try")
        self.next(self.slow)

    @timeout(seconds=1)
    @step
    def slow(self):
        log_metric("before", 1.0)
        time.sleep(30)
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    RetryMetricFlow()
"""

READ_RETRY = """
import json, sqlite3
from ketch import Flow, Task, namespace
from ketch.metadata._sqlite import sqlite_file
namespace(None)
run = Flow("RetryMetricFlow").latest_run
out = {s: [[m.name, m.value] for t in run[s] for m in t.metrics] for s in ("start", "slow")}
first = Task(run["start"].task.pathspec, attempt=0)
out["first"] = [[m.name, m.value] for m in first.metrics]
db = sqlite3.connect(sqlite_file(run._backend.store.url))
out["rows"] = db.execute("SELECT attempt, value FROM metrics WHERE step_name = 'start'").fetchall()
print(json.dumps(out))
"""


def test_retries_show_the_latest_attempt_and_a_timeout_keeps_points(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", RETRY_FLOW)
    ran = project.run("flow.py", "run")
    assert ran.returncode != 0  # slow timed out
    project.write("read.py", READ_RETRY)
    out = project.run("read.py")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["start"] == [["attempt", 1.0]]
    assert got["first"] == [["attempt", 0.0]]  # Task(pathspec, attempt=0)
    assert got["slow"] == [["before", 1.0]]
    assert sorted(got["rows"]) == [[0, 0.0], [1, 1.0]]  # both attempts are in the table


KILLED_FLOW = """
import os, signal
from ketch import FlowSpec, log_metric, step

class KilledMetricFlow(FlowSpec):
    @step
    def start(self):
        for i in range(12_000):
            log_metric("loss", 1.0 / (i + 1), step=i)
        os.kill(os.getpid(), signal.SIGKILL)
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    KilledMetricFlow()
"""


def test_a_killed_task_keeps_the_batches_it_sent(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", KILLED_FLOW)
    ran = project.run("flow.py", "run")
    assert ran.returncode != 0 and "SIGKILL" in ran.stdout + ran.stderr
    out = project.client(
        """
        from ketch import Flow, namespace
        namespace(None)
        (task,) = Flow("KilledMetricFlow").latest_run["start"]
        steps = [m.step for m in task.metrics]
        print(len(steps), steps == list(range(len(steps))))
        """
    )
    assert out.returncode == 0, out.stderr
    # the first point (sent at once) and two whole batches of 5,000; 1,999 lost
    assert out.stdout.split() == ["10001", "True"]
