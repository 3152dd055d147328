"""Read-only queries the `MetadataStore` protocol has no single call for.

A listing page must cost a fixed number of queries, not one per run or per task (a foreach of
1,000 tasks would otherwise mean 1,000 round trips). On a SQL store these run as one SQLAlchemy
Core query each over the documented schema; on any other store they fall back to the protocol.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, and_, func, select

from ..metadata import MetadataStore, ParameterRecord
from ..metadata import _schema as schema
from ..metadata._rows import parameter_from_row

# The pseudo-step holding a run's parameters as artifacts; never shown as a step.
PARAMETERS_STEP = "_parameters"


def _engine(store: MetadataStore) -> Engine | None:
    # SqlMetadataStore keeps its engine private; reading through it is safe (no writes here).
    engine = getattr(store, "_engine", None)
    return engine if isinstance(engine, Engine) else None


def parameters_for_runs(
    store: MetadataStore, run_ids: Iterable[int]
) -> dict[int, list[ParameterRecord]]:
    """The parameters of many runs at once, each run's in the order it recorded them."""
    ids = sorted(set(run_ids))
    out: dict[int, list[ParameterRecord]] = defaultdict(list)
    if not ids:
        return out
    engine = _engine(store)
    if engine is None:
        return {run_id: store.get_parameters(run_id) for run_id in ids}
    table = schema.parameters
    query = (
        select(table)
        .where(table.c.run_id.in_(ids))
        .order_by(table.c.run_id, table.c.position, table.c.name)
    )
    with engine.connect() as conn:
        for row in conn.execute(query).mappings():
            out[int(row["run_id"])].append(parameter_from_row(row))
    return out


@dataclass(frozen=True)
class Failure:
    """Why a task's latest attempt failed."""

    exception: str | None
    exit_code: int | None


def failures(store: MetadataStore, run_id: int, step_name: str | None = None) -> dict[int, Failure]:
    """task id -> the failure of its latest attempt, for the run's failed tasks."""
    engine = _engine(store)
    if engine is None:
        found: dict[int, Failure] = {}
        for task in store.list_tasks(run_id, step_name):
            if task.status == "failed":
                for attempt in store.list_attempts(run_id, task.task_id):
                    if attempt.attempt == task.attempt:
                        found[task.task_id] = Failure(attempt.exception, attempt.exit_code)
        return found
    tasks, attempts = schema.tasks, schema.attempts
    latest = and_(
        attempts.c.run_id == tasks.c.run_id,
        attempts.c.task_id == tasks.c.task_id,
        attempts.c.attempt == tasks.c.attempt,
    )
    query = (
        select(tasks.c.task_id, attempts.c.exception, attempts.c.exit_code)
        .select_from(tasks.join(attempts, latest))
        .where(tasks.c.run_id == run_id, tasks.c.status == "failed")
    )
    if step_name is not None:
        query = query.where(tasks.c.step_name == step_name)
    with engine.connect() as conn:
        return {int(t): Failure(e, c) for t, e, c in conn.execute(query)}


@dataclass(frozen=True)
class Progress:
    """How far a run has got: task counts by status and the time of its latest task change."""

    task_counts: dict[str, int]
    last_change: float


def progress(store: MetadataStore, run_id: int) -> Progress:
    """Task counts and the latest task start or finish of a run, in one query."""
    engine = _engine(store)
    if engine is None:
        counts: dict[str, int] = defaultdict(int)
        last = 0.0
        for task in store.list_tasks(run_id):
            if task.step_name == PARAMETERS_STEP:
                continue
            counts[task.status] += 1
            last = max(last, task.created_at, task.finished_at or 0.0)
        return Progress(dict(counts), last)
    tasks = schema.tasks
    query = (
        select(
            tasks.c.status,
            func.count(),
            func.max(tasks.c.created_at),
            func.max(tasks.c.finished_at),
        )
        .where(tasks.c.run_id == run_id, tasks.c.step_name != PARAMETERS_STEP)
        .group_by(tasks.c.status)
    )
    counts_by_status: dict[str, int] = {}
    last_change = 0.0
    with engine.connect() as conn:
        for status, count, created, finished in conn.execute(query):
            counts_by_status[str(status)] = int(count)
            last_change = max(last_change, created or 0.0, finished or 0.0)
    return Progress(counts_by_status, last_change)
