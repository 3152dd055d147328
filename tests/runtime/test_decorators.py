"""@retry, @catch, @timeout, @environment, @resources and --with, in real processes."""

from __future__ import annotations

import json
import time

import pytest

pytestmark = pytest.mark.slow

FLOW = """
import ctypes, os, signal, time; from ketch import local, on_ray
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
        data = {k: str(getattr(t.data, k)) for k in ("tries", "env", "before") if k in t.data}
        if "err" in t.data:
            err = t.data.err
            data["err"] = None if err is None else [err.type, err.exception, str(err)]
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
    assert info["ok"]
    err_type, message, text = info["data"]["err"]  # type: ignore[index]
    assert (err_type, message) == ("builtins.KeyError", "'missing row'")
    # str() of the caught exception is its traceback, as in Metaflow
    assert text.startswith("Traceback (most recent call last):")
    assert text.endswith("KeyError: 'missing row'\n") and "flow.py" in text


def test_catch_var_is_none_when_the_step_succeeds(project) -> None:  # type: ignore[no-untyped-def]
    # Metaflow sets the variable to None after a step that raised nothing (here: on the retry
    # that succeeds), so that a later step can test `self.err is None`.
    body = (
        "assert not hasattr(self, 'err')  # set only after the step\n"
        "        self.tries = current.retry_count\n"
        "        if current.retry_count == 0:\n"
        "            raise RuntimeError('once')"
    )
    _flow(project, "@catch(var='err', print_exception=False)\n    @retry(times=1)", body)
    project.write(
        "flow.py",
        (project.root / "flow.py")
        .read_text()
        .replace(
            "def end(self):\n        pass", "def end(self):\n        print('END', self.err is None)"
        ),
    )
    proc = project.run("flow.py", "run")
    assert proc.returncode == 0, proc.stderr
    assert "END True" in proc.stdout
    info = _work(project)
    assert info["ok"] and info["attempts"] == [False, True]
    assert info["data"] == {"tries": "1", "err": None}


def test_catch_after_retries_and_after_a_crash(project) -> None:  # type: ignore[no-untyped-def]
    _flow(
        project,
        "@catch(var='err', print_exception=False)\n    @retry(times=1)",
        "self.before = 1\n        os.kill(os.getpid(), signal.SIGSEGV)",
    )
    proc = project.run("flow.py", "run")
    assert proc.returncode == 0, proc.stderr
    info = _work(project)
    assert info["attempt"] == 2  # two user attempts, then the @catch fallback
    err_type, message, _ = info["data"]["err"]  # type: ignore[index]
    assert err_type == "ketch.exceptions.FailureHandledByCatch"  # Metaflow's class name
    assert message.startswith(
        "Task execution kept failing over 2 attempts. Your code did not raise an exception."
    )
    assert "killed by SIGSEGV (11): a segmentation fault" in message
    assert "before" not in info["data"]  # the dead attempts stored nothing


SLEEPS = "self.before = 'kept'\n        print('sleeping', flush=True)\n        time.sleep(60)"


def test_timeout_is_raised_inside_the_step(project) -> None:  # type: ignore[no-untyped-def]
    _flow(project, "@catch(var='err', print_exception=False)\n    @timeout(seconds=1)", SLEEPS)
    started = time.monotonic()
    proc = project.run("flow.py", "run")
    assert time.monotonic() - started < 20  # no hard kill, no wait for the grace period
    assert proc.returncode == 0, proc.stderr
    info = _work(project)
    assert info["data"]["before"] == "kept"  # type: ignore[index]
    err_type, message, text = info["data"]["err"]  # type: ignore[index]
    assert err_type == "ketch.exceptions.TimeoutException"
    assert message == "Step work timed out after 0 hours, 0 minutes, 1 seconds"
    assert "time.sleep(60)" in text and "_timeout.py" not in text  # ends at the user's line
    out = project.client(
        "from ketch import Flow; print(repr(Flow('DecoFlow').latest_run['work'].task.stdout))"
    )
    assert out.stdout.strip() == repr(
        "sleeping\nStep work timed out after 0 hours, 0 minutes, 1 seconds\n"
    )


def test_timeout_is_retried_and_fails_keeping_artifacts(project) -> None:  # type: ignore[no-untyped-def]
    body = "self.tries = current.retry_count\n        time.sleep(60)"
    _flow(project, "@retry(times=1)\n    @timeout(seconds=1)", body)
    proc = project.run("flow.py", "run")
    assert proc.returncode == 1
    info = _work(project)
    assert info["attempts"] == [False, False]
    assert info["exception"] == [
        "ketch.exceptions.TimeoutException",
        "Step work timed out after 0 hours, 0 minutes, 1 seconds",
    ]
    assert info["data"] == {"tries": "1"}


IGNORES_ALARM = "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\n        " + SLEEPS


def test_timeout_kills_a_step_that_does_not_stop(project) -> None:  # type: ignore[no-untyped-def]
    # A step that blocks the signal (as native code that never returns to Python would
    # ignore it) is killed by the scheduler after the grace period.
    _flow(project, "@timeout(seconds=1)", IGNORES_ALARM)
    started = time.monotonic()
    proc = project.run("flow.py", "run")
    assert time.monotonic() - started < 30
    assert proc.returncode == 1
    info = _work(project)
    err_type, message = info["exception"]  # type: ignore[misc]
    assert err_type == "ketch.exceptions.TimeoutException"
    assert message.startswith(
        "Step work timed out after 0 hours, 0 minutes, 1 seconds (the step did not stop when "
        "interrupted, so its process was killed 5 seconds later)"
    )
    assert "sleeping" in proc.stdout


def test_catch_of_a_step_killed_for_its_timeout(project) -> None:  # type: ignore[no-untyped-def]
    _flow(
        project, "@catch(var='err', print_exception=False)\n    @timeout(seconds=1)", IGNORES_ALARM
    )
    proc = project.run("flow.py", "run")
    assert proc.returncode == 0, proc.stderr
    info = _work(project)
    err_type, message, _ = info["data"]["err"]  # type: ignore[index]
    assert err_type == "ketch.exceptions.FailureHandledByCatch"
    assert "Last attempt: TimeoutException: Step work timed out" in message
    assert "before" not in info["data"]  # the killed process stored nothing


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
        ([], "@on_ray(gpu=0.5)", "gpu=0.5 is invalid"),
        ([], "@on_ray(resources={'node2': 'x'})", "resources={'node2': 'x'} is invalid"),
        ([], "@on_ray(runtime_env=['x'])", "runtime_env=['x'] is invalid"),
        ([], "@on_ray(scheduling_strategy='PACK')", "scheduling_strategy='PACK' is invalid"),
        ([], "@local()\n    @on_ray", "is on a step that has @on_ray"),
        (["--with", "on_ray:colour=1"], "", "unknown argument(s) colour"),
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
