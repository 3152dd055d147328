"""Run ids."""

from __future__ import annotations

import time


def new_run_id() -> int:
    """A new run id: the current time in microseconds (as Metaflow's local runs), unique in
    practice and sortable by time, so a scheduler can name its run before the database is open.

    >>> new_run_id() > 1_700_000_000_000_000
    True
    """
    return time.time_ns() // 1000
