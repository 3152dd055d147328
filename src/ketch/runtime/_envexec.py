"""Tasks of ``@pypi``/``@conda`` steps run in their environment's interpreter.

:class:`EnvExecutor` sends a task whose spec names an interpreter (``TaskSpec.python``) to a
local executor of that interpreter, made when its first task comes: a fork server started in
that interpreter (so its tasks start by fork, as the others do), or fresh interpreters where
loading the flow there leaves it unsafe to fork or fails (each task then reports why). Every
other task goes to the run's own executor.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future

from ._executor_api import Executor, OutputCallback, StartCallback
from ._spec import TaskResult, TaskSpec


class EnvExecutor:
    """One local executor per environment interpreter, next to the run's own executor."""

    def __init__(
        self,
        default: Executor,
        *,
        on_output: OutputCallback | None = None,
        on_start: StartCallback | None = None,
    ) -> None:
        self.default = default
        self.on_output = on_output
        self.on_start = on_start
        self._envs: dict[str, Executor] = {}
        self._owners: dict[Future[TaskResult], Executor] = {}
        self._lock = threading.Lock()
        self._stopped = False

    def _executor(self, spec: TaskSpec) -> Executor:
        if spec.python is None:
            return self.default
        executor = self._envs.get(spec.python)
        if executor is None:
            from ._executor import LocalExecutor, TaskSetupError

            try:
                executor = LocalExecutor.for_spec(
                    spec, on_output=self.on_output, on_start=self.on_start
                )
            except TaskSetupError:  # e.g. the flow's module cannot be found from there
                executor = LocalExecutor(
                    None, mode="spawn", on_output=self.on_output, on_start=self.on_start
                )
            self._envs[spec.python] = executor
        return executor

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
        for executor in (self.default, *self._envs.values()):
            executor.cancel_all()

    def close(self) -> None:
        for executor in (self.default, *self._envs.values()):
            executor.close()
