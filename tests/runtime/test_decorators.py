"""@retry, @catch, @timeout, @environment, @resources and --with, in real processes."""

from __future__ import annotations

import json
import time

import pytest

pytestmark = pytest.mark.slow

FLOW = """
import ctypes, os, signal, time
from ketch import FlowSpec, step, retry, catch, timeout, environment, resources, current

class DecoFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.work)

    {decorators}
    @step
    def work(self):
        {body}
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    DecoFlow()
"""


def _flow(project, decorators: str, body: str) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW.format(decorators=decorators, body=body))


def _work(project) -> dict[str, object]:  # type: ignore[no-untyped-def]
    out = project.client(
        """
        import json
        from ketch import Flow, Task
        run = Flow("DecoFlow").latest_run
        t = run["work"].task
        attempts = [Task(t.pathspec, attempt=a).successful for a in range(t.current_attempt + 1)]
        data = {k: str(getattr(t.data, k)) for k in ("err", "tries", "env") if k in t.data}
        print(json.dumps({"ok": run.successful, "attempt": t.current_attempt,
                          "attempts": attempts, "data": data,
                          "exception": t.exception and [t.exception.type, t.exception.exception]}))
        """
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_retry_until_success(project) -> None:  # type: ignore[no-untyped-def]
    body = (
        "self.tries = current.retry_count\n        if current.retry_count < 2:\n"
        "            raise RuntimeError('flaky')"
    )
    _flow(project, "@retry(times=3)", body)
    proc = project.run("flow.py", "run")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("Retrying") == 2
    info = _work(project)
    assert info["ok"] and info["attempt"] == 2
    assert info["attempts"] == [False, False, True]
    assert info["data"] == {"tries": "2"}


def test_retry_exhausted_fails(project) -> None:  # type: ignore[no-untyped-def]
    _flow(project, "@retry(times=1)", "raise RuntimeError('always')")
    proc = project.run("flow.py", "run")
    assert proc.returncode == 1
    info = _work(project)
    assert info["attempts"] == [False, False]
    assert info["exception"] == ["builtins.RuntimeError", "always"]


def test_catch_keeps_the_run_going(project) -> None:  # type: ignore[no-untyped-def]
    _flow(project, "@catch(var='err')", "raise KeyError('missing row')")
    proc = project.run("flow.py", "run")
    assert proc.returncode == 0, proc.stderr
    assert "KeyError" in proc.stdout  # print_exception=True by default
    info = _work(project)
    assert info["ok"] and list(info["data"]) == ["err"]
    err = str(info["data"]["err"])  # type: ignore[index]
    # str() of the wrapper is the traceback, as in Metaflow
    assert err.startswith("Traceback") and err.endswith("KeyError: 'missing row'\n")


def test_catch_after_retries_and_after_a_crash(project) -> None:  # type: ignore[no-untyped-def]
    _flow(
        project,
        "@catch(var='err', print_exception=False)\n    @retry(times=1)",
        "os.kill(os.getpid(), signal.SIGSEGV)",
    )
    proc = project.run("flow.py", "run")
    assert proc.returncode == 0, proc.stderr
    info = _work(project)
    assert info["attempt"] == 2  # two user attempts, then the @catch fallback
    assert "killed by SIGSEGV" in info["data"]["err"]  # type: ignore[index]


def test_timeout_stops_native_code(project) -> None:  # type: ignore[no-untyped-def]
    # libc sleep() does not return to Python, so only the runtime can stop it.
    _flow(project, "@timeout(seconds=1)", "ctypes.CDLL(None).sleep(60)")
    started = time.monotonic()
    proc = project.run("flow.py", "run")
    assert time.monotonic() - started < 30
    assert proc.returncode == 1
    assert "timed out after 1 seconds" in proc.stdout + proc.stderr
    assert "TimeoutException" in str(_work(project)["exception"])


def test_environment_and_resources(project) -> None:  # type: ignore[no-untyped-def]
    _flow(
        project,
        "@environment(vars={'MODE': 'fast'})\n    @resources(cpu=2, memory=512)",
        "self.env = os.environ['MODE']",
    )
    proc = project.run("flow.py", "run")
    assert proc.returncode == 0, proc.stderr
    assert _work(project)["data"] == {"env": "fast"}
    out = project.client(
        """
        import json
        from ketch import Flow
        from ketch.client._context import backend
        run = Flow("DecoFlow").latest_run
        graph = json.loads(bytes(backend().blobs.get(run._record.graph_key)))
        print(json.dumps(graph["steps"]["work"]["decorator_specs"]))
        """
    )
    specs = {d["name"]: d["attributes"] for d in json.loads(out.stdout)}
    assert specs["resources"]["cpu"] == 2 and specs["resources"]["memory"] == 512
    assert specs["environment"] == {"vars": {"MODE": "fast"}}


def test_with_adds_decorators_to_every_step(project) -> None:  # type: ignore[no-untyped-def]
    _flow(
        project,
        "",
        "self.tries = current.retry_count\n        if current.retry_count == 0:\n"
        "            raise RuntimeError('once')",
    )
    proc = project.run("flow.py", "run", "--with", "retry:times=1")
    assert proc.returncode == 0, proc.stderr
    assert _work(project)["data"] == {"tries": "1"}
    proc = project.run("flow.py", "--with", "catch:var=err", "run")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("args", "decorators", "needle"),
    [
        (["--with", "nosuch"], "", "unknown decorator 'nosuch'"),
        (["--with", "retry:bogus=1"], "", "unknown argument(s) bogus"),
        (["--with", "retry:times"], "", "is not key=value"),
        ([], "@retry(times='x')", "times='x' is invalid"),
        ([], "@timeout(seconds=0)", "has a zero timeout"),
        ([], "@retry(times=9)", "times=9 is too large"),
        ([], "@catch(var=3)", "var=3 is invalid"),
    ],
)
def test_bad_decorators(project, args, decorators, needle) -> None:  # type: ignore[no-untyped-def]
    _flow(project, decorators, "pass")
    proc = project.run("flow.py", "run", *args)
    assert proc.returncode == 1
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (project.root / ".ketch").exists()
    if decorators:
        assert "flow.py:10" in proc.stderr  # the decorator's own line
