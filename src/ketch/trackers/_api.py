"""The sink interface: what a tracker receives of a run, and what it may give back.

A tracker is a class with a constructor that takes no argument (it reads its own
configuration, e.g. ``MLFLOW_TRACKING_URI``) and the five methods of :class:`Tracker`, called
in this order from one background thread of the process that runs the flow: ``start_run``
once, then for each task ``start_task``, ``log_metrics`` (any number of times, as batches
arrive), ``end_task``; finally ``end_run``. Any of them may raise: the tracker is then
disabled for the rest of the run with one warning, and the run goes on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..metadata._records import MetricPoint

TaskEnd = Literal["completed", "failed"]
RunEnd = Literal["completed", "failed", "killed"]


@dataclass(frozen=True)
class RunInfo:
    """The run a tracker is told about in ``start_run``."""

    flow_name: str
    run_id: int
    user: str
    tags: tuple[str, ...]  # the user's tags (``--tag``)
    system_tags: tuple[str, ...]  # ``user:ada``, ``runtime:dev``...
    parameters: Mapping[str, Any]  # name -> value (its JSON form; repr() text if not JSON-able)
    created_at: float  # POSIX seconds

    @property
    def pathspec(self) -> str:
        """``FlowName/run_id``, what the Client's ``Run(...)`` takes."""
        return f"{self.flow_name}/{self.run_id}"


@dataclass(frozen=True)
class TaskInfo:
    """A task of the run (one per task, whatever its attempts)."""

    flow_name: str
    run_id: int
    step_name: str
    task_id: int
    created_at: float
    foreach_indices: tuple[int, ...] = ()  # its index in each enclosing foreach, outermost first
    attempt: int = 0  # the attempt that runs now (or ended)

    @property
    def pathspec(self) -> str:
        """``FlowName/run_id/step/task_id``, what the Client's ``Task(...)`` takes."""
        return f"{self.flow_name}/{self.run_id}/{self.step_name}/{self.task_id}"


@dataclass(frozen=True)
class ExternalLink:
    """Where a tracker keeps the run: stored with the run and linked from the UI's run page."""

    tracker: str  # the tracker's name in the ``trackers`` setting
    external_id: str  # the run's id there (an MLflow run id, a Comet experiment key)
    url: str = ""  # a page that shows it, when there is one
    extra: Mapping[str, str] = field(default_factory=dict)


class Tracker:
    """Base class of a tracker: every method does nothing; override those you need.

    >>> class Printer(Tracker):
    ...     def log_metrics(self, task, points):
    ...         for name, step, value, timestamp in points:
    ...             print(task.pathspec, name, step, value)
    """

    name = ""  # set by the registry to the name the setting gave

    def start_run(self, run: RunInfo) -> ExternalLink | None:
        """The run started (its parameters are known); return where it is kept, if anywhere."""
        return None

    def start_task(self, task: TaskInfo) -> None:
        """A task started (its first attempt; a retry does not start it again)."""

    def log_metrics(self, task: TaskInfo, points: Sequence[MetricPoint]) -> None:
        """Points the task logged: ``(name, step, value, timestamp)`` tuples, in order
        (``step`` is None when the task gave none; ``value`` may be NaN)."""

    def end_task(self, task: TaskInfo, status: TaskEnd) -> None:
        """The task ended (its last attempt)."""

    def end_run(self, status: RunEnd) -> None:
        """The run ended: ``completed``, ``failed``, or ``killed`` (interrupted)."""
