"""Failing steps and bad input: clear messages, non-zero exits, nothing recorded wrongly."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.slow

TEMPLATE = """
import os, signal, sys, time
from ketch import FlowSpec, step

class FailFlow(FlowSpec):
    @step
    def start(self):
        self.items = list(range({n}))
        self.next(self.body, foreach="items")

    @step
    def body(self):
        {body}
        self.next(self.join)

    @step
    def join(self, inputs):
        {join}
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    FailFlow()
"""


def _flow(n: int = 2, body: str = "self.v = self.input", join: str = "pass") -> str:
    return TEMPLATE.format(n=n, body=body, join=join)


def _client_task(project, step: str) -> list[str]:  # type: ignore[no-untyped-def]
    out = project.client(
        f"""
        from ketch import Flow
        run = Flow("FailFlow").latest_run
        print(run.successful, run.finished, run.status)
        for t in run["{step}"]:
            print(t.index, t.successful, repr(t.exception))
        """
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_exception_fails_fast_and_is_recorded(project) -> None:  # type: ignore[no-untyped-def]
    body = "if self.input == 0:\n            raise ValueError('bad row 0')\n        time.sleep(60)"
    project.write("flow.py", _flow(n=2, body=body))
    started = time.monotonic()
    proc = project.run("flow.py", "run")
    assert time.monotonic() - started < 30  # the sleeping sibling was killed, not awaited
    assert proc.returncode == 1
    assert "ValueError: bad row 0" in proc.stderr
    lines = _client_task(project, "body")
    assert lines[0] == "False False failed"
    assert lines[1].startswith("0 False ExceptionWrapper('builtins.ValueError', 'bad row 0')")
    assert lines[2].startswith("1 False")
    out = project.client(
        """
        from ketch import Flow
        t = Flow("FailFlow").latest_run["body"].task
        print("Traceback" in t.stderr, "bad row 0" in t.stderr, repr(t.stdout))
        """
    )
    assert out.stdout.strip() == "True True ''"


def test_unpicklable_artifact_names_it(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", _flow(body="self.lock = __import__('threading').Lock()"))
    proc = project.run("flow.py", "run")
    assert proc.returncode == 1
    assert "Artifact 'lock' of type _thread.lock cannot be pickled" in proc.stdout + proc.stderr


def test_merge_conflict_lists_artifacts(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", _flow(join="self.merge_artifacts(inputs)"))
    proc = project.run("flow.py", "run")
    assert proc.returncode == 1
    assert "values differ between inputs: v" in proc.stdout + proc.stderr


def test_too_many_splits_fails_before_body_runs(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", _flow(n=5))
    proc = project.run("flow.py", "run", "--max-num-splits", "4")
    assert proc.returncode == 1
    assert "--max-num-splits 5" in proc.stdout + proc.stderr
    out = project.client(
        "from ketch import Flow; r = Flow('FailFlow').latest_run; print([s.id for s in r])"
    )
    assert out.stdout.strip() == "['start']"


def test_zero_splits(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", _flow(n=0))
    proc = project.run("flow.py", "run")
    assert proc.returncode == 1
    assert "produced zero splits" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("body", "message", "note"),
    [
        (
            "os.kill(os.getpid(), signal.SIGSEGV)",
            "killed by SIGSEGV (11): a segmentation fault",
            "Task failed with a segmentation fault.",  # Metaflow's line
        ),
        (
            "import ctypes; ctypes.string_at(0)",  # a real one, in native code
            "killed by SIGSEGV (11): a segmentation fault",
            "Task failed with a segmentation fault.",
        ),
        (
            "os.kill(os.getpid(), signal.SIGKILL)",
            "killed by SIGKILL (9)",
            "Task failed: the task process was killed by SIGKILL (9).",
        ),
        (
            "os._exit(3)",
            "exited with code 3",
            "Task failed: the task process exited with code 3 before reporting a result.",
        ),
    ],
)
def test_process_death_is_reported(project, body: str, message: str, note: str) -> None:  # type: ignore[no-untyped-def]
    body = f"print('about to die'); print('on stderr', file=sys.stderr, flush=True); {body}"
    project.write("flow.py", _flow(n=1, body=body))
    proc = project.run("flow.py", "run")
    assert proc.returncode == 1
    assert message in proc.stdout + proc.stderr
    lines = _client_task(project, "body")
    assert message in lines[1]
    # The stored logs keep what the task wrote, and stderr ends by saying how it died.
    out = project.client(
        """
        from ketch import Flow
        task = Flow("FailFlow").latest_run["body"].task
        print(repr(task.stdout)); print(repr(task.stderr))
        """
    )
    assert out.stdout.splitlines() == [repr("about to die\n"), repr(f"on stderr\n{note}\n")]


def test_missing_next_at_run_time(project) -> None:  # type: ignore[no-untyped-def]
    body = "if self.input == 0:\n            return"
    project.write("flow.py", _flow(n=1, body=body))
    proc = project.run("flow.py", "run")
    assert proc.returncode == 1
    assert "finished without calling self.next()" in proc.stdout + proc.stderr


LINT_BAD = """
from ketch import FlowSpec, step

class BadFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def orphan(self):
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    BadFlow()
"""


@pytest.mark.parametrize("command", ["check", "run"])
def test_invalid_graph_refused(project, command: str) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", LINT_BAD)
    proc = project.run("flow.py", command)
    assert proc.returncode == 1
    assert "line 10" in proc.stderr and "orphan" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (project.root / ".ketch").exists()


def test_bad_flow_files_with_ketch_command(project) -> None:  # type: ignore[no-untyped-def]
    project.write("syntax.py", "def broken(:\n    pass\n")
    proc = project.ketch("run", "syntax.py")
    assert proc.returncode == 1
    assert "syntax.py, line 1" in proc.stderr and "Traceback" not in proc.stderr
    project.write("empty.py", "x = 1\n")
    proc = project.ketch("check", "empty.py")
    assert proc.returncode == 1
    assert "defines no FlowSpec subclass" in proc.stderr
    proc = project.ketch("run", "missing.py")
    assert proc.returncode == 1 and "does not exist" in proc.stderr


def test_missing_and_foreign_runs(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", _flow(n=1))
    proc = project.run("flow.py", "dump", "1/start")
    assert proc.returncode == 1
    assert "No ketch store" in proc.stderr and "Traceback" not in proc.stderr
    assert project.run("flow.py", "run", "--run-id-file", "mine").returncode == 0
    project.write(
        "other.py",
        LINT_BAD.replace("BadFlow", "OtherFlow").replace(
            "    @step\n    def orphan(self):\n        self.next(self.end)\n", ""
        ),
    )
    assert project.run("other.py", "run", "--run-id-file", "other").returncode == 0
    for path in ("99/start", f"{project.run_id('other')}/start"):  # a run of OtherFlow
        proc = project.run("flow.py", "dump", path)
        assert proc.returncode == 1
        assert f"Run 'FailFlow/{path.split('/')[0]}' does not exist" in proc.stderr
        assert "Traceback" not in proc.stderr
    proc = project.run("flow.py", "logs", f"{project.run_id('mine')}/nostep")
    assert proc.returncode == 1 and "does not exist" in proc.stderr
