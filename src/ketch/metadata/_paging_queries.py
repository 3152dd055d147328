"""The read queries behind paginated and summarised views of a run (the UI of a run with
100,000 tasks): a page of a step's tasks after a cursor, per-step statistics, the slowest
tasks of a step, the median duration of a step, and tasks by id.

Each is keyed by its name in ``_queries.READS`` (and rendered into ``_sqlite_sql.py``). A page
of tasks is a keyset page over the index ``ix_tasks_run_step`` (run, step, foreach order, task
id): the database seeks to the cursor instead of skipping rows, so every page costs the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Double,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    cast,
    func,
    literal_column,
    or_,
    select,
)

from ._schema import tasks

_DURATION = tasks.c.finished_at - tasks.c.created_at


def _no_offset() -> Any:
    # OFFSET as SQL text: SQLite's dialect adds one to LIMIT, which must not be a parameter.
    return literal_column("0", Integer)


def _of_step() -> Any:
    return and_(
        tasks.c.run_id == bindparam("run_id", type_=tasks.c.run_id.type),
        tasks.c.step_name == bindparam("step_name", type_=String),
    )


def _after_cursor() -> Any:
    """Tasks after (``:after_order``, ``:after_task``) in (foreach order, task id) order,
    written so that the index seeks to ``:after_order`` first."""
    order = tasks.c.foreach_order
    after_order = bindparam("after_order", type_=String)
    return and_(
        order >= after_order,
        or_(order > after_order, tasks.c.task_id > bindparam("after_task", type_=Integer)),
    )


def _task_page(by_status: bool) -> Select[Any]:
    """At most ``:limit`` tasks of a step after a cursor (with one of ``:statuses``)."""
    query = select(tasks).where(_of_step(), _after_cursor())
    if by_status:
        query = query.where(tasks.c.status.in_(bindparam("statuses", expanding=True)))
    query = query.order_by(tasks.c.foreach_order, tasks.c.task_id)
    return query.limit(bindparam("limit", type_=Integer)).offset(_no_offset())


def _step_stats() -> Select[Any]:
    return (
        select(
            tasks.c.step_name,
            tasks.c.status,
            func.count().label("n"),
            func.min(tasks.c.created_at).label("first_start"),
            func.max(tasks.c.created_at).label("last_start"),
            func.max(tasks.c.finished_at).label("last_finish"),
            func.count(tasks.c.finished_at).label("finished"),
            func.min(_DURATION).label("min_s"),
            func.max(_DURATION).label("max_s"),
            func.sum(_DURATION).label("sum_s"),
        )
        .where(tasks.c.run_id == bindparam("run_id", type_=tasks.c.run_id.type))
        .group_by(tasks.c.step_name, tasks.c.status)
    )


def _slowest() -> Select[Any]:
    """The ``:limit`` finished tasks of a step that took longest."""
    return (
        select(tasks)
        .where(_of_step(), _DURATION.is_not(None))
        .order_by(_DURATION.desc(), tasks.c.task_id)
        .limit(bindparam("limit", type_=Integer))
        .offset(_no_offset())
    )


def _nth_duration() -> Select[Any]:
    """The duration of the ``:offset``-th shortest finished task of a step (for the median)."""
    return (
        select(_DURATION.label("d"))
        .where(_of_step(), _DURATION.is_not(None))
        .order_by(_DURATION)
        .limit(literal_column("1", Integer))
        .offset(bindparam("offset", type_=Integer))
    )


def _tasks_by_id() -> Select[Any]:
    return (
        select(tasks)
        .where(
            tasks.c.run_id == bindparam("run_id", type_=tasks.c.run_id.type),
            tasks.c.task_id.in_(bindparam("task_ids", expanding=True)),
        )
        .order_by(tasks.c.task_id)
    )


def _start_histogram() -> Any:
    """How many tasks of a step started in each slice of ``:width`` seconds from ``:t0``
    (slice ``b``; a database may round a start on a slice's edge into either neighbour)."""
    bucket = cast((tasks.c.created_at - bindparam("t0", type_=Double)) / bindparam(
        "width", type_=Double
    ), Integer)  # fmt: skip
    return (
        select(bucket.label("b"), func.count().label("n"))
        .where(_of_step())
        .group_by(literal_column("b"))
    )


PAGING_READS: dict[str, Callable[[], Any]] = {
    "task_page": lambda: _task_page(by_status=False),
    "task_page_by_status": lambda: _task_page(by_status=True),
    "step_stats": _step_stats,
    "step_slowest": _slowest,
    "step_nth_duration": _nth_duration,
    "tasks_by_id": _tasks_by_id,
    "step_start_histogram": _start_histogram,
}
