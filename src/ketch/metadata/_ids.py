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
