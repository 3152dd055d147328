"""The metadata store protocols: `MetadataWriter` (what the scheduler's writer process calls),
`MetadataReader` (what the Client, the CLI and the UI call) and `MetadataStore`, both at once.

``open_store(url, read_only=True)`` gives a `MetadataReader`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from ._records import (
    ArtifactRecord,
    AttemptRecord,
    FlowRecord,
    MetricAggregate,
    MetricCursors,
    MetricPoint,
    MetricRecord,
    ParameterRecord,
    RunLinkRecord,
    RunProgress,
    RunRecord,
    RunStatus,
    RunSummary,
    StepRecord,
    StepTaskStats,
    TaskFailure,
    TaskRecord,
    TaskSnapshot,
)


class MetadataWriter(Protocol):
    """The writes: used by the scheduler's writer process (``ketch.runtime._writer``) only,
    and by tag edits (``add_tags``/``remove_tags``, the Client and the CLI).

    Writes made inside ``with store.batch():`` share one transaction (the scheduler groups the
    records of every task that finished in one loop turn); outside a batch each write commits on
    its own. All methods are safe to call from several processes at once.
    """

    def batch(self) -> AbstractContextManager[None]: ...

    def create_run(
        self,
        flow_name: str,
        *,
        user: str,
        tags: Iterable[str],
        system_tags: Iterable[str],
        origin_run_id: int | None = None,
        code_key: str | None = None,
        scheduler_pid: int | None = None,
        hostname: str | None = None,
        datastore_url: str | None = None,
        run_id: int | None = None,
        created_at: float | None = None,
    ) -> RunRecord:
        """Create the flow if needed and a new run in status ``running``; returns it.
        ``run_id`` defaults to a new microsecond-timestamp id."""
        ...

    def set_parameters(self, run_id: int, parameters: Sequence[ParameterRecord]) -> None:
        """Set the run's parameters, replacing any set before; `get_parameters` keeps the order."""
        ...

    def set_code_key(self, run_id: int, code_key: str) -> None: ...

    def set_graph_key(self, run_id: int, graph_key: str) -> None: ...

    def heartbeat(self, run_id: int, at: float) -> None: ...

    def finish_run(self, run_id: int, status: RunStatus, finished_at: float) -> None: ...

    def upsert_task(self, task: TaskRecord) -> None:
        """Insert or replace the task (and its step row on first sight)."""
        ...

    def upsert_attempt(self, attempt: AttemptRecord) -> None:
        """Insert or replace one attempt of a task.

        The task must exist when the transaction commits: inside a batch, `upsert_task` may come
        after (rows are checked at commit); outside one, call `upsert_task` first.
        """
        ...

    def add_artifacts(
        self, run_id: int, task_id: int, attempt: int, artifacts: Sequence[ArtifactRecord]
    ) -> None:
        """Record artifacts of one attempt; a name written again replaces the earlier row.

        Like `upsert_attempt`, the task must exist when the transaction commits.
        """
        ...

    def add_metrics(
        self,
        run_id: int,
        task_id: int,
        attempt: int,
        step_name: str,
        points: Sequence[MetricPoint],
        first_seq: int = 0,
    ) -> None:
        """Record the metrics one attempt logged, in order, numbered from ``first_seq`` (the
        points of a running task come in batches; written again: replaced).

        Like `upsert_attempt`, the task must exist when the transaction commits.
        """
        ...

    def add_run_link(self, link: RunLinkRecord) -> None:
        """Record where an experiment tracker keeps the run (again for a tracker: replaced)."""
        ...

    def add_tags(self, run_id: int, tags: Iterable[str]) -> None:
        """Add user tags (idempotent)."""
        ...

    def remove_tags(self, run_id: int, tags: Iterable[str]) -> None:
        """Remove user tags; system tags are never removed."""
        ...


class MetadataReader(Protocol):
    """The reads: what the Client, the CLI and the UI use. All are safe to call from several
    processes at once, and while a writer writes (each read sees one committed state)."""

    url: str
    read_only: bool  # opened for reading only (a SQLite file): writes raise StoreAccessError

    def list_flows(self) -> list[FlowRecord]: ...

    def get_run(self, run_id: int) -> RunRecord | None: ...

    def list_runs(
        self,
        flow_name: str | None = None,
        *,
        tags: Iterable[str] = (),
        limit: int | None = None,
        before: int | None = None,
    ) -> list[RunRecord]:
        """Runs newest first (highest run id first); with ``tags``, runs carrying all of them
        (user or system tags); with ``before``, only runs with a lower id (a cursor)."""
        ...

    def task_page(
        self,
        run_id: int,
        step_name: str,
        *,
        after: tuple[str, int] = ("", -(2**31)),
        statuses: Sequence[str] | None = None,
        limit: int = 200,
    ) -> list[TaskRecord]:
        """A keyset page of a step's tasks in foreach order, after ``(foreach_order,
        task_id)``, optionally only with one of ``statuses``."""
        ...

    def step_stats(self, run_id: int) -> list[StepTaskStats]:
        """Task counts, times and durations per step and status, in one query."""
        ...

    def slowest_tasks(self, run_id: int, step_name: str, limit: int) -> list[TaskRecord]: ...

    def median_duration(self, run_id: int, step_name: str, finished: int) -> float | None: ...

    def tasks_by_id(self, run_id: int, task_ids: Sequence[int]) -> dict[int, TaskRecord]: ...

    def failures_of(self, run_id: int, task_ids: Sequence[int]) -> dict[int, TaskFailure]: ...

    def start_histogram(
        self, run_id: int, step_name: str, t0: float, width: float
    ) -> dict[int, int]: ...

    def list_run_summaries(
        self, flow_name: str | None = None, *, tags: Iterable[str] = (), limit: int | None = None
    ) -> list[RunSummary]:
        """Like `list_runs`, each run with its number of tasks per status."""
        ...

    def get_parameters(self, run_id: int) -> list[ParameterRecord]: ...

    def list_steps(self, run_id: int) -> list[StepRecord]:
        """Steps of the run in the order they were first created."""
        ...

    def list_tasks(self, run_id: int, step_name: str | None = None) -> list[TaskRecord]:
        """Tasks ordered by foreach indices, then task id."""
        ...

    def get_task(self, run_id: int, task_id: int) -> TaskRecord | None: ...

    def list_attempts(self, run_id: int, task_id: int | None = None) -> list[AttemptRecord]:
        """Attempts of one task, or of every task of the run (by task, then attempt)."""
        ...

    def list_artifacts(
        self, run_id: int, task_id: int, attempt: int | None = None
    ) -> list[ArtifactRecord]:
        """Artifacts of one attempt; ``None`` means the task's latest attempt."""
        ...

    def iter_run_artifacts(self, run_id: int) -> Iterator[tuple[int, ArtifactRecord]]:
        """(task_id, artifact) for the latest attempt of every task of the run."""
        ...

    def list_run_links(self, run_id: int) -> list[RunLinkRecord]:
        """Where experiment trackers keep the run (docs/trackers.md), by tracker name."""
        ...

    def list_metrics(
        self, run_id: int, task_id: int | None = None, attempt: int | None = None
    ) -> list[MetricRecord]:
        """What ``log_metric`` recorded in the latest attempt of each task of the run (or of
        task ``task_id``; with ``attempt``, in that attempt of it): by task id, then in the
        order logged."""
        ...

    def sample_metrics(
        self, run_id: int, cap: int, name: str | None = None
    ) -> tuple[list[tuple[int, MetricRecord]], MetricCursors]:
        """The run's metrics (of ``name`` only), each (task, name) series thinned evenly to
        about ``cap`` points (first and last kept), each with its place in its series, and
        the cursors `metrics_since` takes."""
        ...

    def metrics_since(
        self, run_id: int, cursors: MetricCursors
    ) -> tuple[list[MetricRecord], MetricCursors]:
        """The points logged after ``cursors`` (a task's whole latest attempt when its cursor
        names another attempt), and the new cursors: charts that grow while a run runs."""
        ...

    def aggregate_metric(self, flow_name: str, name: str) -> list[MetricAggregate]:
        """Per run of the flow that logged metric ``name``: its last, max and min value."""
        ...

    def metric_names(self, flow_name: str) -> list[str]:
        """The metric names logged in the flow's runs, sorted."""
        ...

    def snapshot_step(
        self, run_ids: Sequence[int], step_name: str
    ) -> dict[int, list[TaskSnapshot]]:
        """For each of ``run_ids`` that has the step, its tasks (by task id) with their latest
        attempt and that attempt's artifacts: a few queries for any number of runs, so that
        ``[run.data.x for run in Flow(...)]`` does not cost queries per run."""
        ...

    def parameters_for_runs(self, run_ids: Iterable[int]) -> dict[int, list[ParameterRecord]]:
        """The parameters of many runs at once (a fixed number of queries), each run's in the
        order `get_parameters` gives; runs without parameters are left out."""
        ...

    def failures(self, run_id: int, step_name: str | None = None) -> dict[int, TaskFailure]:
        """task id -> the failure of its latest attempt, for the run's failed tasks."""
        ...

    def progress(self, run_id: int, *, except_step: str = "") -> RunProgress:
        """Task counts by status and the latest task start or finish of the run, in one query;
        ``except_step``'s tasks (a pseudo-step) are not counted."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> MetadataReader:
        """``with open_store(url, read_only=True) as store:`` closes the store on exit."""
        ...

    def __exit__(self, *exc_info: object) -> None: ...


class MetadataStore(MetadataReader, MetadataWriter, Protocol):
    """A store opened for writing: the reads and the writes (``open_store(url)``)."""

    def __enter__(self) -> MetadataStore:
        """``with open_store(url) as store:`` closes the store on exit."""
        ...
