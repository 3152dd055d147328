"""The executor seam: the ``Executor`` protocol and the registry of its implementations.

An executor runs tasks somewhere: ``submit(TaskSpec)`` returns a future that resolves to the
task's :class:`TaskResult` (a failure of the task is a result with ``ok=False``; the future
raises only when the executor itself fails, e.g. cannot store the logs), with the keys of the
task's stored logs (``stdout_key``, ``stderr_key``): the executor side that captured a task's
output stores it, also for a task whose process died.
``cancel`` ends one task (its result says ``TaskCancelled``), ``cancel_all`` ends every task
and refuses new ones, ``close`` does that and releases everything the executor started.

The ``executor`` setting names an entry of :data:`EXECUTORS` (or ``auto``: fork unless the
flow's import made forking unsafe, see ``_launch``). An executor in :data:`PLACED` runs tasks
elsewhere (a cluster): a step is placed on it by its decorator (``@on_ray``), or every step by
the setting (``--executor ray``), and the run's other steps go to the local executor; see
:class:`RoutedExecutor`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ..exceptions import UserError
from ._spec import TaskResult, TaskSpec

if TYPE_CHECKING:
    from ..metadata._records import MetricPoint
    from ..settings import Settings

AUTO = "auto"

# Live output of a task, line by line: (spec, "stdout" | "stderr", line without newline).
OutputCallback = Callable[[TaskSpec, str, bytes], None]
# A task's process started: (spec, pid).
StartCallback = Callable[[TaskSpec, int], None]
# Metric points a running task logged, as they arrive (an executor that cannot stream them
# leaves them in the task's result): (spec, points). Called before the task's future resolves;
# the result then carries only the points not given here.
MetricsCallback = Callable[[TaskSpec, tuple["MetricPoint", ...]], None]


class Executor(Protocol):
    """Runs tasks; what the scheduler needs of the place where they run."""

    def submit(self, spec: TaskSpec) -> Future[TaskResult]:
        """Start the task of ``spec``; its future resolves when the task has ended."""
        ...

    def cancel(self, task: Future[TaskResult]) -> None:
        """End the task behind ``task`` (now, or before it starts); a no-op once it ended."""
        ...

    def cancel_all(self) -> None:
        """End every task; tasks submitted from now on resolve cancelled without starting."""
        ...

    def close(self) -> None:
        """Cancel everything and release what the executor started (no process is left)."""
        ...


class GangExecutor(Executor, Protocol):
    """An executor that places a gang (the tasks of a ``@parallel`` step) itself: all its
    tasks at once or none, each told where the gang's control task runs (see ``_gang``)."""

    def submit_gang(self, specs: list[TaskSpec]) -> list[Future[TaskResult]]:
        """Start every task of ``specs`` together; their futures, in the same order."""
        ...


def submit_gang(executor: Executor, specs: list[TaskSpec]) -> list[Future[TaskResult]]:
    """Start the tasks of a gang: through the executor's ``submit_gang`` where it has one
    (a cluster places them together), else one by one (a local executor starts each at once)."""
    method = getattr(executor, "submit_gang", None)
    if method is None:
        return [executor.submit(spec) for spec in specs]
    futures: list[Future[TaskResult]] = method(specs)
    return futures


class ExecutorFactory(Protocol):
    def __call__(
        self,
        flow_cls: type[Any],
        *,
        on_output: OutputCallback | None = None,
        on_start: StartCallback | None = None,
        settings: Settings | None = None,
        on_metrics: MetricsCallback | None = None,
    ) -> Executor: ...


def _local(mode: Literal["fork", "spawn"]) -> ExecutorFactory:
    def factory(
        flow_cls: type[Any],
        *,
        on_output: OutputCallback | None = None,
        on_start: StartCallback | None = None,
        settings: Settings | None = None,
        on_metrics: MetricsCallback | None = None,
    ) -> Executor:
        from ._executor import LocalExecutor

        return LocalExecutor(
            flow_cls, mode=mode, on_output=on_output, on_start=on_start, on_metrics=on_metrics
        )

    return factory


def _ray(
    flow_cls: type[Any],
    *,
    on_output: OutputCallback | None = None,
    on_start: StartCallback | None = None,
    settings: Settings | None = None,
    on_metrics: MetricsCallback | None = None,  # Ray tasks' metrics come with their results
) -> Executor:
    from ..executors._ray import RayExecutor

    return RayExecutor(flow_cls, on_output=on_output, on_start=on_start, settings=settings)


EXECUTORS: Mapping[str, ExecutorFactory] = {
    "fork": _local("fork"),
    "spawn": _local("spawn"),
    "ray": _ray,
}
# Executors that run tasks elsewhere: steps are placed on them (see the module's docstring).
PLACED = frozenset({"ray"})


class RoutedExecutor:
    """Sends each task to the executor its step is placed on (``TaskSpec.placement``), the
    others to the local executor; the scheduler sees one executor."""

    def __init__(self, local: Executor | None, placed: Mapping[str, Executor]) -> None:
        self.local = local
        self.placed = dict(placed)
        self._owners: dict[Future[TaskResult], Executor] = {}
        self._lock = threading.Lock()

    def _executor(self, spec: TaskSpec) -> Executor:
        if spec.placement is not None:
            return self.placed[spec.placement.executor]
        assert self.local is not None, f"step {spec.step_name} has no executor"
        return self.local

    def submit(self, spec: TaskSpec) -> Future[TaskResult]:
        executor = self._executor(spec)
        future = executor.submit(spec)
        with self._lock:
            self._owners[future] = executor
        future.add_done_callback(self._forget)
        return future

    def submit_gang(self, specs: list[TaskSpec]) -> list[Future[TaskResult]]:
        executor = self._executor(specs[0])
        futures = submit_gang(executor, specs)
        with self._lock:
            for future in futures:
                self._owners[future] = executor
        for future in futures:
            future.add_done_callback(self._forget)
        return futures

    def _forget(self, future: Future[TaskResult]) -> None:
        with self._lock:
            self._owners.pop(future, None)

    def cancel(self, task: Future[TaskResult]) -> None:
        with self._lock:
            executor = self._owners.get(task)
        if executor is not None:
            executor.cancel(task)

    def _all(self) -> list[Executor]:
        return [e for e in (self.local, *self.placed.values()) if e is not None]

    def cancel_all(self) -> None:
        for executor in self._all():
            executor.cancel_all()

    def close(self) -> None:
        for executor in self._all():
            executor.close()


def executor_names() -> tuple[str, ...]:
    """What the ``executor`` setting accepts."""
    return (AUTO, *EXECUTORS)


def executor_factory(name: str) -> ExecutorFactory:
    """The registered executor ``name``; a user error that lists the known ones otherwise."""
    try:
        return EXECUTORS[name]
    except KeyError:
        known = ", ".join(executor_names())
        raise UserError(
            f"Unknown executor {name!r}.",
            hint=f"Use one of: {known} (--executor, KETCH_EXECUTOR or [tool.ketch] executor).",
        ) from None
