"""Tasks of ``@pypi``/``@conda`` steps run in their environment's interpreter.

:class:`EnvExecutor` sends a task whose spec names an interpreter (``TaskSpec.python``) to a
local executor of that interpreter, made when its first task comes: a fork server started in
that interpreter (so its tasks start by fork, as the others do), or fresh interpreters where
loading the flow there leaves it unsafe to fork or fails (each task then reports why). Every
other task goes to the run's own executor. :meth:`EnvExecutor.prestart` starts those servers
in the background before the run's first task (while the run is being recorded), each in a
thread of its own, so a run with several environments starts them side by side. Each such
thread lives until the executor closes: a server dies with the thread that started it (the
parent-death signal is tied to the starting thread, not to the process).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

from ._executor_api import Executor, MetricsCallback, OutputCallback, StartCallback
from ._spec import TaskResult, TaskSpec


class EnvExecutor:
    """One local executor per environment interpreter, next to the run's own executor."""

    def __init__(
        self,
        default: Executor,
        *,
        on_output: OutputCallback | None = None,
        on_start: StartCallback | None = None,
        spawn: bool = False,
        on_metrics: MetricsCallback | None = None,
    ) -> None:
        self.default = default
        self.spawn = spawn  # --executor spawn: each task a fresh interpreter of its environment
        self.on_output = on_output
        self.on_start = on_start
        self.on_metrics = on_metrics
        self._envs: dict[str, Future[Executor]] = {}
        self._owners: dict[Future[TaskResult], Executor] = {}
        self._lock = threading.Lock()
        self._stopped = False
        self._closed = threading.Event()

    def prestart(self, spec: TaskSpec, pythons: Iterable[str]) -> None:
        """Start the executor of each interpreter in ``pythons`` now, in the background, for
        the flow of ``spec`` (any spec of the run)."""
        for python in pythons:
            with self._lock:
                if python in self._envs:
                    continue
                future = self._envs[python] = Future()
            env_spec = replace(spec, python=python)
            threading.Thread(
                target=self._start_and_hold, args=(env_spec, future), name="ketch-env", daemon=True
            ).start()

    def _start_and_hold(self, spec: TaskSpec, future: Future[Executor]) -> None:
        self._start(spec, future)
        self._closed.wait()

    def _start(self, spec: TaskSpec, future: Future[Executor]) -> None:
        try:
            executor = self._make(spec)
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(executor)

    def _make(self, spec: TaskSpec) -> Executor:
        """A fork server in the environment's interpreter, else fresh interpreters of it."""
        from ._executor import LocalExecutor, TaskSetupError

        callbacks: dict[str, Any] = {
            "on_output": self.on_output,
            "on_start": self.on_start,
            "on_metrics": self.on_metrics,
        }
        if not self.spawn:
            try:
                return LocalExecutor.for_spec(spec, **callbacks)
            except TaskSetupError:  # e.g. the flow's module cannot be found from there
                pass
        return LocalExecutor(None, mode="spawn", **callbacks)

    def _executor(self, spec: TaskSpec) -> Executor:
        if spec.python is None:
            return self.default
        with self._lock:
            future = self._envs.get(spec.python)
            start = future is None
            if future is None:
                future = self._envs[spec.python] = Future()
        if start:
            self._start(spec, future)
        return future.result()

    def _started(self) -> list[Executor]:
        with self._lock:
            futures = list(self._envs.values())
        started = [f.result() for f in futures if f.exception() is None]
        return [self.default, *started]

    def submit(self, spec: TaskSpec) -> Future[TaskResult]:
        executor = self._executor(spec)
        if self._stopped:
            executor.cancel_all()
        future = executor.submit(spec)
        with self._lock:
            self._owners[future] = executor
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future[TaskResult]) -> None:
        with self._lock:
            self._owners.pop(future, None)

    def cancel(self, task: Future[TaskResult]) -> None:
        with self._lock:
            executor = self._owners.get(task)
        if executor is not None:
            executor.cancel(task)

    def cancel_all(self) -> None:
        self._stopped = True
        for executor in self._started():
            executor.cancel_all()

    def close(self) -> None:
        for executor in self._started():
            executor.close()
        self._closed.set()
