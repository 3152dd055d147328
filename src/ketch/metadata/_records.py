"""Typed records that cross the metadata seam.

The scheduler writes them (it is the only writer of a run's records); the client and the UI read
them. Times are POSIX seconds (float, UTC). Ids: a run id is a positive integer unique in the store;
a task id is an integer unique within its run (the ``_parameters`` pseudo-task is 0).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

RunStatus = Literal["running", "completed", "failed"]
TaskStatus = Literal["running", "completed", "failed"]


@dataclass(frozen=True)
class FlowRecord:
    flow_name: str
    created_at: float


@dataclass(frozen=True)
class ForeachFrame:
    """One level of foreach nesting, outermost first."""

    step: str  # the foreach step that fanned out
    var: str  # the attribute it iterated over
    num_splits: int
    index: int
    value: str  # short text form of the element (at most 30 characters)


@dataclass(frozen=True)
class RunRecord:
    flow_name: str
    run_id: int
    user: str
    status: RunStatus
    created_at: float
    finished_at: float | None = None
    tags: frozenset[str] = frozenset()
    system_tags: frozenset[str] = frozenset()
    origin_run_id: int | None = None
    code_key: str | None = None  # datastore key of the code package
    graph_key: str | None = None  # datastore key of the graph (JSON: steps, decorators)
    heartbeat_at: float | None = None  # the scheduler updates it while it lives
    scheduler_pid: int | None = None
    hostname: str | None = None
    datastore_url: str | None = None  # where its bytes are; None: written before ketch said


@dataclass(frozen=True)
class StepRecord:
    run_id: int
    step_name: str
    created_at: float


@dataclass(frozen=True)
class TaskRecord:
    run_id: int
    step_name: str
    task_id: int
    status: TaskStatus
    created_at: float
    finished_at: float | None = None
    attempt: int = 0  # the latest attempt
    foreach_stack: tuple[ForeachFrame, ...] = ()
    origin_run_id: int | None = None  # set on tasks cloned by resume
    origin_task_id: int | None = None
    input_task_ids: tuple[int, ...] = ()  # parent task ids, in input order


@dataclass(frozen=True)
class AttemptRecord:
    run_id: int
    task_id: int
    attempt: int
    status: TaskStatus
    started_at: float
    finished_at: float | None = None
    exit_code: int | None = None
    exception: str | None = None  # "Type: message" of the failure, if any
    traceback: str | None = None
    stdout_key: str | None = None  # datastore key of the captured stdout
    stderr_key: str | None = None
    pid: int | None = None
    # Where the attempt ran when not on the launching machine (e.g. "ray:<node id>"); None: there.
    node: str | None = None


@dataclass(frozen=True)
class ArtifactRecord:
    name: str
    key: str  # datastore blob key
    type_name: str  # e.g. "builtins.dict", "numpy.ndarray"
    size: int  # bytes of the serialized value
    encoding: str = "ketch-pickle5"


# One value logged by a task, as the task sends it to the scheduler: (name, step, value,
# timestamp). ``step`` is the caller's x-axis (None when not given); a NaN value is kept (stored
# as SQL NULL, read back as NaN); ``timestamp`` is POSIX seconds. A plain tuple: a task may send
# many thousands, and a plain tuple is built and pickled several times faster than a NamedTuple.
MetricPoint = tuple[str, int | None, float, float]


@dataclass(frozen=True)
class RunLinkRecord:
    """Where an experiment tracker keeps a run (a row of ``run_links``, see docs/trackers.md)."""

    run_id: int
    tracker: str  # the tracker's name in the ``trackers`` setting, e.g. ``mlflow``
    external_id: str  # the run's id there (an MLflow run id, a Comet experiment key)
    url: str  # a page that shows it; empty when there is none (a local MLflow store)
    created_at: float


@dataclass(frozen=True)
class MetricRecord:
    """One value a task logged with ``log_metric`` (a row of the ``metrics`` table)."""

    task_id: int
    attempt: int
    step_name: str
    name: str
    step: int | None  # the x-axis the task gave (an epoch...); None when it gave none
    value: float  # NaN when the task logged a NaN
    timestamp: float  # POSIX seconds when the task logged it


# task id -> (its latest attempt, the last ``seq`` of it read): where a chart's reads stopped.
MetricCursors = dict[int, tuple[int, int]]


@dataclass(frozen=True)
class MetricAggregate:
    """One run's values of one metric, over its tasks' latest attempts (NaN: none numeric)."""

    run_id: int
    last: float  # the value logged last (by time, then by task id and order)
    max: float
    min: float


# The pseudo-step whose one task holds a run's parameters as artifacts: not a step of the flow
# (the UI, the Client and the trackers leave it out).
PARAMETERS_STEP = "_parameters"


@dataclass(frozen=True)
class ParameterRecord:
    name: str
    value_json: str  # JSON text of the value when it is JSON-able, else its repr() as a JSON string
    key: str  # datastore blob key of the pickled value

    @property
    def value(self) -> Any:
        """The value ``value_json`` holds (its text itself when that is not JSON)."""
        try:
            return json.loads(self.value_json)
        except ValueError:
            return self.value_json


@dataclass(frozen=True)
class TaskSnapshot:
    """A task with its latest attempt and that attempt's artifacts, read in one batch."""

    task: TaskRecord
    attempt: AttemptRecord | None
    artifacts: tuple[ArtifactRecord, ...]


@dataclass(frozen=True)
class RunSummary:
    """A run with the counts a listing needs, in one query."""

    run: RunRecord
    task_counts: dict[str, int] = field(default_factory=dict)  # status -> count


@dataclass(frozen=True)
class TaskFailure:
    """Why a task's latest attempt failed (see `MetadataReader.failures`)."""

    exception: str | None
    exit_code: int | None


@dataclass(frozen=True)
class RunProgress:
    """How far a run has got: task counts by status and the time of its latest task change."""

    task_counts: dict[str, int]
    last_change: float


@dataclass(frozen=True)
class StepTaskStats:
    """The tasks of one step with one status (see `MetadataReader.step_stats`): how many, when
    the first and last started, when the last finished, and the durations of the finished."""

    step_name: str
    status: str
    count: int
    first_start: float
    last_start: float
    last_finish: float | None
    finished: int  # how many have finished (have a duration)
    min_s: float | None
    max_s: float | None
    sum_s: float
