"""The executor contract: every registered executor runs real tasks of a real flow the same way.

Each test drives an executor directly (no scheduler) with ``TaskSpec``s of the flow below and
checks what the ``Executor`` protocol promises: results, exit codes and signals, stored logs,
cancelling one task or all, and that closing leaves no process behind.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from flowrun import blob_bytes, process_started

from ketch.exceptions import UserError
from ketch.runtime._executor_api import (
    EXECUTORS,
    PLACED,
    Executor,
    executor_factory,
    executor_names,
)
from ketch.runtime._spec import TaskResult, TaskSpec

WAIT = 60.0  # seconds: generous, only a hang fails a test

FLOW = """
import faulthandler, os, signal, sys, time
from ketch import FlowSpec, step

class ContractFlow(FlowSpec):
    @step
    def start(self):
        print("to stdout")
        print("to stderr", file=sys.stderr)
        self.x = 41
        self.next(self.end)

    @step
    def raises(self):
        print("before the error")
        raise ValueError("bad value")

    @step
    def exits(self):
        print("exiting", flush=True)
        print("on stderr", file=sys.stderr, flush=True)
        os._exit(3)

    @step
    def signalled(self):
        print("signalling", flush=True)
        faulthandler.disable()  # pytest's, inherited by a forked task: no dump on SIGSEGV
        os.kill(os.getpid(), int(os.environ["SIGNAL"]))

    @step
    def sleeps(self):
        print("sleeping", flush=True)
        time.sleep(600)
        self.next(self.end)

    @step
    def end(self):
        pass
"""


@dataclass
class Harness:
    """One executor over the flow, with what its callbacks saw."""

    executor: Executor
    store: Path
    flow_file: Path
    lines: list[tuple[str, str, bytes]] = field(default_factory=list)  # (step, stream, line)
    pids: dict[int, int] = field(default_factory=dict)  # task id -> pid
    started: threading.Condition = field(default_factory=threading.Condition)
    baseline: set[int] = field(default_factory=set)  # child processes before the executor
    python: str | None = None  # "pyenv": every task runs in this @pypi environment's interpreter

    def spec(self, step: str, task_id: int, **changes: Any) -> TaskSpec:
        base = TaskSpec(
            flow_name="ContractFlow",
            flow_file=str(self.flow_file),
            flow_class="ContractFlow",
            run_id=1,
            step_name=step,
            task_id=task_id,
            attempt=0,
            inputs=(),
            parameters={},
            frames=(),
            var_keys=(),
            datastore_url=str(self.store),
            username="tester",
            out_funcs=("end",),
            cwd=str(self.flow_file.parent),
            python=self.python,
        )
        return replace(base, **changes)

    def run(self, spec: TaskSpec) -> TaskResult:
        return self.executor.submit(spec).result(timeout=WAIT)

    def log(self, key: str | None) -> bytes:
        return b"" if key is None else blob_bytes(self.store, key)

    def on_output(self, spec: TaskSpec, stream: str, line: bytes) -> None:
        self.lines.append((spec.step_name, stream, line))

    def on_start(self, spec: TaskSpec, pid: int) -> None:
        with self.started:
            self.pids[spec.task_id] = pid
            self.started.notify_all()

    def wait_started(self, task_id: int) -> int:
        with self.started:
            assert self.started.wait_for(lambda: task_id in self.pids, timeout=WAIT)
            return self.pids[task_id]


def _load(flow_file: Path, name: str) -> type[Any]:
    spec = importlib.util.spec_from_file_location(name, flow_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    flow_cls: type[Any] = module.ContractFlow
    return flow_cls


def _children() -> set[int]:
    """The pids of this process's child processes that still run."""
    pids: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            pids.update(int(p) for p in (task / "children").read_text().split())
        except OSError:
            continue
    return {pid for pid in pids if process_started(pid) is not None}


def _gone(pids: set[int]) -> bool:
    """Whether every process of ``pids`` has ended, waiting for at most ``WAIT`` seconds."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if all(process_started(pid) is None for pid in pids):
            return True
        time.sleep(0.01)
    return False


# The local executors run here; an executor in PLACED (Ray) runs this same module inside its
# cluster's network namespace, named by this variable (see tests/executors/test_ray_contract.py).
CONTRACT_EXECUTOR = "KETCH_TEST_CONTRACT_EXECUTOR"
_UNDER_TEST = (
    [os.environ[CONTRACT_EXECUTOR]]
    if os.environ.get(CONTRACT_EXECUTOR)
    else sorted(set(EXECUTORS) - PLACED)
)
# The router of @pypi/@conda tasks (ketch.runtime._envexec) over the fork (or the spawn)
# executor, each task in an environment built with uv (skipped where uv is not installed).
PYENV = ("pyenv", "pyenv-spawn")
if not os.environ.get(CONTRACT_EXECUTOR):
    _UNDER_TEST.extend(PYENV)


@pytest.fixture(scope="module")
def env_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    pytest.importorskip("uv")
    from ketch.pyenv import EnvRequest, ensure_env

    cache = tmp_path_factory.mktemp("envs")
    return ensure_env(EnvRequest("pypi", (("six", "1.16.0"),), None), cache).python


def _executor(name: str, flow_cls: type[Any], harness: Harness, request: Any) -> Executor:
    callbacks: dict[str, Any] = {"on_output": harness.on_output, "on_start": harness.on_start}
    if name not in PYENV:
        return executor_factory(name)(flow_cls, **callbacks)
    from ketch.runtime._envexec import EnvExecutor

    harness.python = request.getfixturevalue("env_python")
    spawn = name == "pyenv-spawn"
    local = executor_factory("spawn" if spawn else "fork")(flow_cls, **callbacks)
    return EnvExecutor(local, spawn=spawn, **callbacks)


@pytest.fixture(params=_UNDER_TEST)
def harness(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    # Forked tasks print through the Python streams of the process that forked them, as a
    # flow's own process would have them (pytest's capture replaces them with its files).
    monkeypatch.setattr("sys.stdout", sys.__stdout__)
    monkeypatch.setattr("sys.stderr", sys.__stderr__)
    flow_file = tmp_path / "contract_flow.py"
    flow_file.write_text(FLOW)
    flow_cls = _load(flow_file, f"contract_flow_{request.param}")
    store = tmp_path / ".ketch"
    store.mkdir()
    harness = Harness(executor=None, store=store, flow_file=flow_file)  # type: ignore[arg-type]
    harness.baseline = _children()
    harness.executor = _executor(request.param, flow_cls, harness, request)
    try:
        yield harness
    finally:
        harness.executor.close()


def test_the_registry_names_every_executor_and_refuses_others() -> None:
    assert {"fork", "spawn", "ray"} <= set(EXECUTORS)
    assert executor_names() == ("auto", *EXECUTORS)
    with pytest.raises(UserError) as info:
        executor_factory("no-such-executor")
    assert "Unknown executor 'no-such-executor'" in info.value.format()
    assert ", ".join(executor_names()) in info.value.format()


def test_a_task_runs_and_its_output_is_stored_and_streamed(harness: Harness) -> None:
    result = harness.run(harness.spec("start", 1))
    assert result.ok, result.exception
    assert result.exit_code == 0
    assert result.transition == ("end",)
    assert "x" in result.artifacts
    assert result.pid == harness.pids[1]
    assert harness.log(result.stdout_key) == b"to stdout\n"
    assert harness.log(result.stderr_key) == b"to stderr\n"
    assert ("start", "stdout", b"to stdout") in harness.lines
    assert ("start", "stderr", b"to stderr") in harness.lines


def test_a_step_that_prints_nothing_has_no_logs(harness: Harness) -> None:
    result = harness.run(harness.spec("end", 1, is_end=True, out_funcs=()))
    assert result.ok, result.exception
    assert result.stdout_key is None and result.stderr_key is None


def test_a_step_that_raises_reports_its_exception(harness: Harness) -> None:
    result = harness.run(harness.spec("raises", 1))
    assert not result.ok
    assert result.exit_code == 1
    assert result.exception == "ValueError: bad value"
    assert result.traceback is not None and "bad value" in result.traceback
    assert b"before the error\n" in harness.log(result.stdout_key)


def test_an_exit_code_is_recorded_with_the_output_before_it(harness: Harness) -> None:
    result = harness.run(harness.spec("exits", 1))
    assert not result.ok
    assert result.exit_code == 3
    assert result.exception == (
        "TaskDied: the task process exited with code 3 before reporting a result"
    )
    assert harness.log(result.stdout_key) == b"exiting\n"
    assert harness.log(result.stderr_key) == (
        b"on stderr\nTask failed: the task process exited with code 3 before reporting a result.\n"
    )


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM, signal.SIGSEGV])
def test_a_signal_that_kills_the_task_is_recorded(harness: Harness, signum: int) -> None:
    result = harness.run(harness.spec("signalled", 1, env={"SIGNAL": str(int(signum))}))
    assert not result.ok
    assert result.exit_code == -signum
    name = signal.Signals(signum).name
    assert result.exception is not None
    assert result.exception.startswith(f"TaskKilled: the task process was killed by {name}")
    assert harness.log(result.stdout_key) == b"signalling\n"  # kept although the task died
    assert harness.log(result.stderr_key).endswith(b".\n")  # the note of how it died


def test_a_timeout_interrupts_the_step_and_is_reported(harness: Harness) -> None:
    result = harness.run(harness.spec("sleeps", 1, timeout=1.0))
    assert not result.ok
    assert result.exception is not None
    assert result.exception.startswith("TimeoutException: Step sleeps timed out after")
    assert b"sleeping\n" in harness.log(result.stdout_key)


def test_cancelling_one_task_ends_it_and_not_the_others(harness: Harness) -> None:
    first = harness.executor.submit(harness.spec("sleeps", 1))
    second = harness.executor.submit(harness.spec("sleeps", 2))
    harness.wait_started(1)
    harness.wait_started(2)
    harness.executor.cancel(first)
    cancelled = first.result(timeout=WAIT)
    assert not cancelled.ok
    assert cancelled.exit_code == -signal.SIGKILL
    assert cancelled.exception is not None and cancelled.exception.startswith("TaskCancelled:")
    assert not second.done()
    assert harness.run(harness.spec("start", 3)).ok  # the executor goes on
    harness.executor.cancel(second)
    assert second.result(timeout=WAIT).exception.startswith("TaskCancelled:")  # type: ignore[union-attr]
    assert _gone({harness.pids[1], harness.pids[2]})


def test_a_task_cancelled_right_after_submit_does_not_finish(harness: Harness) -> None:
    future = harness.executor.submit(harness.spec("sleeps", 1))
    harness.executor.cancel(future)
    result = future.result(timeout=WAIT)
    assert not result.ok
    assert result.exception is not None and result.exception.startswith("TaskCancelled:")


def test_cancelling_a_finished_task_changes_nothing(harness: Harness) -> None:
    future = harness.executor.submit(harness.spec("start", 1))
    result = future.result(timeout=WAIT)
    harness.executor.cancel(future)
    assert harness.run(harness.spec("start", 2)).ok
    assert future.result() is result and result.ok


def test_cancel_all_ends_every_task_and_refuses_new_ones(harness: Harness) -> None:
    futures = [harness.executor.submit(harness.spec("sleeps", i)) for i in (1, 2, 3)]
    harness.wait_started(1)
    harness.executor.cancel_all()
    for future in futures:
        result = future.result(timeout=WAIT)
        assert not result.ok
        assert result.exception is not None and result.exception.startswith("TaskCancelled:")
    later = harness.run(harness.spec("start", 4))
    assert not later.ok
    assert later.exception == "TaskCancelled: the task was cancelled before it started"
    assert 4 not in harness.pids
    assert _gone(set(harness.pids.values()))


def test_close_leaves_no_process_behind(harness: Harness) -> None:
    futures: list[Future[TaskResult]] = [
        harness.executor.submit(harness.spec("sleeps", i)) for i in (1, 2)
    ]
    harness.wait_started(1)
    harness.wait_started(2)
    harness.executor.close()
    for future in futures:
        assert not future.result(timeout=WAIT).ok
    assert _gone(set(harness.pids.values()))
    # The fork server or the spare interpreters (started with the executor) are gone too.
    assert _gone(_children() - harness.baseline)
    harness.executor.close()  # closing twice is harmless
