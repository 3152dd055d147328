"""``profile``: time a block of code, as Metaflow's ``profile`` does."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def profile(label: str, stats_dict: dict[str, int] | None = None) -> Iterator[None]:
    """Time the ``with`` block, in whole milliseconds.

    Without ``stats_dict`` it prints ``PROFILE: <label> starting`` and
    ``PROFILE: <label> completed in <N>ms``; with one it prints nothing and adds the time to
    ``stats_dict[label]`` (so a label timed in a loop sums up). A block that raises is not
    counted, as in Metaflow.

    Examples
    --------
    >>> from ketch import profile
    >>> stats: dict[str, int] = {}
    >>> with profile("load", stats):
    ...     pass
    >>> list(stats)
    ['load']
    """
    if stats_dict is None:
        print(f"PROFILE: {label} starting")
    start = time.perf_counter()
    yield
    took = int((time.perf_counter() - start) * 1000)
    if stats_dict is None:
        print(f"PROFILE: {label} completed in {took}ms")
    else:
        stats_dict[label] = stats_dict.get(label, 0) + took
