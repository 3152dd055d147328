"""Run ids."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

R = TypeVar("R")
_TRIES = 5


def new_run_id() -> int:
    """A new run id: the current time in microseconds (as Metaflow's local runs), unique in
    practice and sortable by time, so a scheduler can name its run before the database is open.

    >>> new_run_id() > 1_700_000_000_000_000
    True
    """
    return time.time_ns() // 1000


def create_with_run_id(
    create: Callable[[int], R],
    run_id: int | None,
    taken: type[Exception],
) -> R:
    """``create(run_id)``; without a ``run_id``, with a new one, and when another process took
    that one in the same microsecond (``create`` raised ``taken``), with the next (a few tries).
    """
    if run_id is not None:
        return create(run_id)
    candidate = new_run_id()
    for _ in range(_TRIES - 1):
        try:
            return create(candidate)
        except taken:
            candidate = max(new_run_id(), candidate + 1)
    return create(candidate)


# The widest values the schema's id columns hold on every backend: run ids are BIGINT; task ids
# and attempt numbers are INTEGER, which is 32 bits on PostgreSQL (SQLite's are 64).
_BIGINT_MAX = 2**63 - 1
_INTEGER_MAX = 2**31 - 1


def storable_run_id(run_id: int) -> bool:
    """Whether a run with this id can exist at all: a 40-digit id typed by a user cannot be
    bound as a query parameter (sqlite3 raises OverflowError, PostgreSQL "out of range"), and
    is simply not found.

    >>> storable_run_id(1_796_416_812_724_567), storable_run_id(10**40)
    (True, False)
    """
    return -_BIGINT_MAX - 1 <= run_id <= _BIGINT_MAX


def storable_number(number: int) -> bool:
    """Whether a task id or attempt number fits its column (see `storable_run_id`)."""
    return -_INTEGER_MAX - 1 <= number <= _INTEGER_MAX


def storable_task(run_id: int, task_id: int, attempt: int | None = None) -> bool:
    """Whether the ids of a task (and of one of its attempts) fit their columns."""
    return (
        storable_run_id(run_id)
        and storable_number(task_id)
        and (attempt is None or storable_number(attempt))
    )
