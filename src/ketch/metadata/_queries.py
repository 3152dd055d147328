"""Every read query of the metadata store, written once in SQLAlchemy Core.

Each query has a name and named parameters. `SqlMetadataStore` executes the statement built here
(`statement`, built once per process); `SqliteStore` executes the same statement compiled ahead
of time into SQLite's SQL (``_sqlite_gen`` renders `READS` into ``_sqlite_sql.py``). Both hand
the rows to `ketch.metadata._reading.StoreReads`, which turns them into records: a new query or
table is added here, in one place.

Every parameter is named and given by the caller: a constant is SQL text, never a bound value
(the generator checks). A query with optional parts has one variant per shape, named
``name/shape`` (see `listing`); a list-valued parameter is an expanding ``IN`` (SQLite's SQL
keeps SQLAlchemy's ``__[POSTCOMPILE_name]`` marker, which `SqliteStore` replaces by one
parameter per value).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    String,
    Table,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
)

from ._paging_queries import PAGING_READS
from ._reading import listing
from ._schema import (
    artifacts,
    attempts,
    flows,
    metrics,
    parameters,
    run_links,
    run_tags,
    runs,
    steps,
    tasks,
)

_FAILED = literal_column("'failed'", String)  # SQL text: every parameter is the caller's


def _latest(table: Table) -> Any:
    """Join condition: ``table``'s rows of each task's latest attempt."""
    return and_(
        table.c.run_id == tasks.c.run_id,
        table.c.task_id == tasks.c.task_id,
        table.c.attempt == tasks.c.attempt,
    )


def _metrics(*, of_task: bool) -> Select[Any]:
    """The metrics of the latest attempt of the run's tasks (or of task ``:task_id``)."""
    query = (
        select(metrics)
        .select_from(metrics.join(tasks, _latest(metrics)))
        .where(tasks.c.run_id == _RUN_ID)
    )
    if of_task:
        query = query.where(tasks.c.task_id == bindparam("task_id"))
    return query.order_by(metrics.c.task_id, metrics.c.seq)


_ONE = literal_column("1", Integer)


def _of_attempt() -> Any:
    """The rows of attempt ``:attempt`` of task ``:task_id`` of run ``:run_id``."""
    return and_(
        metrics.c.run_id == _RUN_ID,
        metrics.c.task_id == bindparam("task_id"),
        metrics.c.attempt == bindparam("attempt"),
    )


def _metric_buckets() -> Select[Any]:
    """The points of one task attempt that stand for all of them on a chart: its points cut
    by ``seq`` into buckets of ``:width`` (``seq // :width``), and of each bucket's share of
    each series the first and the last point, with how many points it holds (``n``), so that
    every point's place in its series is known. A series keeps at least two points a bucket
    it has points in; the sort is of one task's rows."""
    bucket = (metrics.c.seq // bindparam("width", type_=Integer)).label("bucket")
    buckets = (
        select(
            metrics.c.name,
            bucket,
            func.min(metrics.c.seq).label("lo"),
            func.max(metrics.c.seq).label("hi"),
            func.count().label("n"),
        )
        .where(_of_attempt())
        .group_by(metrics.c.name, bucket)
        .subquery()
    )
    ends = or_(metrics.c.seq == buckets.c.lo, metrics.c.seq == buckets.c.hi)
    return (
        select(metrics, buckets.c.bucket, buckets.c.lo, buckets.c.n)
        .select_from(metrics.join(buckets, and_(_of_attempt(), ends)))
        .order_by(metrics.c.seq)
    )


def _metrics_of_tasks() -> Select[Any]:
    """The points of the latest attempt of tasks ``:task_ids`` of the run."""
    return (
        select(metrics)
        .select_from(metrics.join(tasks, _latest(metrics)))
        .where(
            tasks.c.run_id == _RUN_ID, tasks.c.task_id.in_(bindparam("task_ids", expanding=True))
        )
        .order_by(metrics.c.task_id, metrics.c.seq)
    )


def _run_has_metrics() -> Select[Any]:
    """One row if run ``:run_id`` logged any metric (a primary-key lookup), else none."""
    return select(_ONE).where(exists().where(metrics.c.run_id == _RUN_ID))


def _metric_cursors() -> Select[Any]:
    """Per task of the run: its latest attempt and the last ``seq`` it logged in it (NULL:
    none). One index lookup per task (the primary key ends in ``seq``), not a scan of the
    run's points: a page polls this every few seconds."""
    last = (
        select(func.max(metrics.c.seq)).where(_latest(metrics)).scalar_subquery().label("last_seq")
    )
    return select(tasks.c.task_id, tasks.c.attempt, last).where(tasks.c.run_id == _RUN_ID)


def _metric_by_run() -> Select[Any]:
    """For each run of ``:flow_name`` whose tasks (latest attempts) logged ``:name``: the
    last value logged (by time, then task and order), the largest and the smallest."""
    run = metrics.c.run_id
    latest_first = (metrics.c.logged_at.desc(), metrics.c.task_id.desc(), metrics.c.seq.desc())
    ranked = (
        select(
            run,
            metrics.c.value,
            func.max(metrics.c.value).over(partition_by=run).label("max_value"),
            func.min(metrics.c.value).over(partition_by=run).label("min_value"),
            func.row_number().over(partition_by=run, order_by=latest_first).label("rn"),
        )
        .select_from(metrics.join(tasks, _latest(metrics)).join(runs, runs.c.run_id == run))
        .where(runs.c.flow_name == bindparam("flow_name"), metrics.c.name == bindparam("name"))
        .subquery()
    )
    return select(
        ranked.c.run_id,
        ranked.c.value.label("last_value"),
        ranked.c.max_value,
        ranked.c.min_value,
    ).where(ranked.c.rn == _ONE)


def _metric_names() -> Select[Any]:
    """The metric names logged in the runs of ``:flow_name``."""
    return (
        select(metrics.c.name)
        .select_from(metrics.join(runs, runs.c.run_id == metrics.c.run_id))
        .where(runs.c.flow_name == bindparam("flow_name"))
        .distinct()
        .order_by(metrics.c.name)
    )


def _listed_run_ids(flow: bool, tags: bool, limit: bool, before: bool) -> Select[Any]:
    """Ids of the runs listed, newest first: ``:flow_name``, all of ``:tags`` (``:n_tags``
    of them), older than run ``:before`` (a cursor), at most ``:limit``."""
    query = select(runs.c.run_id)
    if before:
        query = query.where(runs.c.run_id < bindparam("before", type_=runs.c.run_id.type))
    if flow:
        query = query.where(runs.c.flow_name == bindparam("flow_name"))
    if tags:
        carrying_all = (
            select(run_tags.c.run_id)
            .where(run_tags.c.tag.in_(bindparam("tags", expanding=True)))
            .group_by(run_tags.c.run_id)
            .having(func.count() == bindparam("n_tags"))
        )
        query = query.where(runs.c.run_id.in_(carrying_all))
    query = query.order_by(runs.c.run_id.desc())
    if not limit:
        return query
    # OFFSET as SQL text: SQLite's dialect adds one, which must not be a parameter of its own.
    return query.limit(bindparam("limit", type_=Integer)).offset(literal_column("0", Integer))


def _listing_queries(ids: Callable[[], Select[Any]]) -> dict[str, Callable[[], Any]]:
    return {
        "runs": lambda: select(runs).where(runs.c.run_id.in_(ids())).order_by(runs.c.run_id.desc()),
        "runs_tags": lambda: select(run_tags.c.run_id, run_tags.c.tag, run_tags.c.is_system).where(
            run_tags.c.run_id.in_(ids())
        ),
        "runs_task_counts": lambda: (
            select(tasks.c.run_id, tasks.c.status, func.count().label("n"))
            .where(tasks.c.run_id.in_(ids()))
            .group_by(tasks.c.run_id, tasks.c.status)
        ),
    }


def _listings() -> dict[str, Callable[[], Any]]:
    """The listing queries, ``runs/SHAPE``, ``runs_tags/SHAPE`` and ``runs_task_counts/SHAPE``,
    for every shape."""
    out: dict[str, Callable[[], Any]] = {}
    for shape in itertools.product((False, True), repeat=4):
        ids = functools.partial(_listed_run_ids, *shape)
        for name, build in _listing_queries(ids).items():
            out[f"{name}/{listing(*shape)}"] = build
    return out


def _tasks_in_order(of_step: bool) -> Select[Any]:
    joined = tasks.outerjoin(
        steps, and_(steps.c.run_id == tasks.c.run_id, steps.c.step_name == tasks.c.step_name)
    )
    query = select(tasks).select_from(joined).where(tasks.c.run_id == bindparam("run_id"))
    if of_step:
        query = query.where(tasks.c.step_name == bindparam("step_name"))
    return query.order_by(steps.c.position, tasks.c.foreach_order, tasks.c.task_id)


def _attempts(of_task: bool) -> Select[Any]:
    query = select(attempts).where(attempts.c.run_id == bindparam("run_id"))
    if of_task:
        query = query.where(attempts.c.task_id == bindparam("task_id"))
    return query.order_by(attempts.c.task_id, attempts.c.attempt)


def _snapshot_chosen() -> Any:
    """Tasks of step ``:step_name`` in any of ``:run_ids``."""
    return and_(
        tasks.c.run_id.in_(bindparam("run_ids", expanding=True)),
        tasks.c.step_name == bindparam("step_name"),
    )


def _latest_failures() -> Select[Any]:
    """The exception and exit code of each task's latest attempt, in run ``:run_id``."""
    return (
        select(tasks.c.task_id, attempts.c.exception, attempts.c.exit_code)
        .select_from(tasks.join(attempts, _latest(attempts)))
        .where(tasks.c.run_id == bindparam("run_id"))
    )


def _failures(of_step: bool) -> Select[Any]:
    query = _latest_failures().where(tasks.c.status == _FAILED)
    if of_step:
        query = query.where(tasks.c.step_name == bindparam("step_name"))
    return query


def _failures_of_tasks() -> Select[Any]:
    """`_latest_failures` of tasks ``:task_ids`` (failed or not)."""
    return _latest_failures().where(tasks.c.task_id.in_(bindparam("task_ids", expanding=True)))


_RUN_ID = bindparam("run_id", type_=runs.c.run_id.type)

READS: dict[str, Callable[[], Any]] = {
    "flows": lambda: select(flows).order_by(flows.c.flow_name),
    "run": lambda: select(runs).where(runs.c.run_id == _RUN_ID),
    "run_exists": lambda: select(runs.c.run_id).where(runs.c.run_id == _RUN_ID),
    "run_tags": lambda: select(run_tags.c.tag, run_tags.c.is_system).where(
        run_tags.c.run_id == _RUN_ID
    ),
    "run_links": lambda: (
        select(run_links).where(run_links.c.run_id == _RUN_ID).order_by(run_links.c.tracker)
    ),
    **_listings(),
    "parameters": lambda: (
        select(parameters)
        .where(parameters.c.run_id == _RUN_ID)
        .order_by(parameters.c.position, parameters.c.name)
    ),
    "parameters_of_runs": lambda: (
        select(parameters)
        .where(parameters.c.run_id.in_(bindparam("run_ids", expanding=True)))
        .order_by(parameters.c.run_id, parameters.c.position, parameters.c.name)
    ),
    "steps": lambda: (
        select(steps.c.run_id, steps.c.step_name, steps.c.created_at)
        .where(steps.c.run_id == _RUN_ID)
        .order_by(steps.c.position)
    ),
    "tasks": lambda: _tasks_in_order(of_step=False),
    "tasks_of_step": lambda: _tasks_in_order(of_step=True),
    "task": lambda: select(tasks).where(
        tasks.c.run_id == _RUN_ID, tasks.c.task_id == bindparam("task_id")
    ),
    "task_attempt": lambda: select(tasks.c.attempt).where(
        tasks.c.run_id == _RUN_ID, tasks.c.task_id == bindparam("task_id")
    ),
    "attempts": lambda: _attempts(of_task=False),
    "attempts_of_task": lambda: _attempts(of_task=True),
    "artifacts_of_attempt": lambda: (
        select(artifacts)
        .where(
            artifacts.c.run_id == _RUN_ID,
            artifacts.c.task_id == bindparam("task_id"),
            artifacts.c.attempt == bindparam("attempt"),
        )
        .order_by(artifacts.c.name)
    ),
    "run_artifacts": lambda: (
        select(artifacts)
        .select_from(artifacts.join(tasks, _latest(artifacts)))
        .where(tasks.c.run_id == _RUN_ID)
        .order_by(artifacts.c.task_id, artifacts.c.name)
    ),
    "run_metrics": lambda: _metrics(of_task=False),
    "task_metrics": lambda: _metrics(of_task=True),
    "attempt_metrics": lambda: (
        select(metrics)
        .where(
            metrics.c.run_id == _RUN_ID,
            metrics.c.task_id == bindparam("task_id"),
            metrics.c.attempt == bindparam("attempt"),
        )
        .order_by(metrics.c.seq)
    ),
    "metric_buckets": _metric_buckets,
    "metrics_of_tasks": _metrics_of_tasks,
    "metric_cursors": _metric_cursors,
    "run_has_metrics": _run_has_metrics,
    "metric_tail": lambda: (
        select(metrics)
        .where(
            metrics.c.run_id == _RUN_ID,
            metrics.c.task_id == bindparam("task_id"),
            metrics.c.attempt == bindparam("attempt"),
            metrics.c.seq > bindparam("after"),
            metrics.c.seq <= bindparam("upto"),
        )
        .order_by(metrics.c.seq)
    ),
    "metric_by_run": _metric_by_run,
    "metric_names": _metric_names,
    "snapshot_tasks": lambda: (
        select(tasks).where(_snapshot_chosen()).order_by(tasks.c.run_id, tasks.c.task_id)
    ),
    "snapshot_attempts": lambda: (
        select(attempts).select_from(attempts.join(tasks, _latest(attempts)))
    ).where(_snapshot_chosen()),
    "snapshot_artifacts": lambda: (
        select(artifacts)
        .select_from(artifacts.join(tasks, _latest(artifacts)))
        .where(_snapshot_chosen())
        .order_by(artifacts.c.name)
    ),
    "failures": lambda: _failures(of_step=False),
    "failures_of_step": lambda: _failures(of_step=True),
    "failures_of_tasks": _failures_of_tasks,
    **PAGING_READS,
    "progress": lambda: (
        select(
            tasks.c.status,
            func.count().label("n"),
            func.max(tasks.c.created_at).label("created"),
            func.max(tasks.c.finished_at).label("finished"),
        )
        .where(tasks.c.run_id == _RUN_ID, tasks.c.step_name != bindparam("except_step"))
        .group_by(tasks.c.status)
    ),
}


@functools.cache
def statement(name: str) -> Any:
    """The statement of query ``name``, built once per process (building costs more than
    running it)."""
    return READS[name]()
