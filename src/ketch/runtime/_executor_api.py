"""The executor seam: the ``Executor`` protocol and the registry of its implementations.

An executor runs tasks somewhere: ``submit(TaskSpec)`` returns a future that resolves to the
task's :class:`TaskResult` (a failure of the task is a result with ``ok=False``; the future
raises only when the executor itself fails, e.g. cannot store the logs), with the keys of the
task's stored logs (``stdout_key``, ``stderr_key``): the executor side that captured a task's
output stores it, also for a task whose process died.
``cancel`` ends one task (its result says ``TaskCancelled``), ``cancel_all`` ends every task
and refuses new ones, ``close`` does that and releases everything the executor started.

The ``executor`` setting names an entry of :data:`EXECUTORS` (or ``auto``: fork unless the
flow's import made forking unsafe, see ``_launch``). A new executor (Ray) is one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any, Protocol

from ..exceptions import UserError
from ._spec import TaskResult, TaskSpec

AUTO = "auto"

# Live output of a task, line by line: (spec, "stdout" | "stderr", line without newline).
OutputCallback = Callable[[TaskSpec, str, bytes], None]
# A task's process started: (spec, pid).
StartCallback = Callable[[TaskSpec, int], None]


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


class ExecutorFactory(Protocol):
    def __call__(
        self,
        flow_cls: type[Any],
        *,
        on_output: OutputCallback | None = None,
        on_start: StartCallback | None = None,
    ) -> Executor: ...


def _fork(
    flow_cls: type[Any],
    *,
    on_output: OutputCallback | None = None,
    on_start: StartCallback | None = None,
) -> Executor:
    from ._executor import LocalExecutor

    return LocalExecutor(flow_cls, mode="fork", on_output=on_output, on_start=on_start)


def _spawn(
    flow_cls: type[Any],
    *,
    on_output: OutputCallback | None = None,
    on_start: StartCallback | None = None,
) -> Executor:
    from ._executor import LocalExecutor

    return LocalExecutor(flow_cls, mode="spawn", on_output=on_output, on_start=on_start)


EXECUTORS: Mapping[str, ExecutorFactory] = {"fork": _fork, "spawn": _spawn}


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
