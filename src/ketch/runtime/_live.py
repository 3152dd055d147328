"""Live metrics: the points running tasks send, from the executor's thread to the scheduler's.

The executor calls a :class:`LiveMetrics` (its ``on_metrics`` callback) from its I/O thread as
each batch arrives, always before the task's future resolves; the scheduler waits on
:meth:`LiveMetrics.arrived` next to its tasks' futures and writes what :meth:`LiveMetrics.take`
returns through its batching writer. The scheduler numbers each attempt's points in the order
they came (:class:`MetricSeq`), so batches and the rest carried by the result never overwrite
each other.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future

from ..metadata._records import MetricPoint
from ._spec import TaskSpec

Batch = tuple[TaskSpec, tuple[MetricPoint, ...]]


class LiveMetrics:
    """Metric batches handed over by the executor, waiting for the scheduler."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batches: list[Batch] = []
        self._arrived: Future[None] = Future()

    def __call__(self, spec: TaskSpec, points: tuple[MetricPoint, ...]) -> None:
        with self._lock:
            self._batches.append((spec, points))
            if not self._arrived.done():
                self._arrived.set_result(None)

    def arrived(self) -> Future[None]:
        """Resolves when a batch is waiting (to wait on it next to the tasks' futures)."""
        with self._lock:
            return self._arrived

    def take(self) -> list[Batch]:
        """The batches waiting, in the order they came."""
        with self._lock:
            batches, self._batches = self._batches, []
            if self._arrived.done():
                self._arrived = Future()
        return batches


class MetricSeq:
    """The number of the next point of each task attempt (the ``metrics.seq`` column)."""

    def __init__(self) -> None:
        self._next: dict[tuple[int, int], int] = {}

    def claim(self, task_id: int, attempt: int, count: int) -> int:
        """The number of the first of ``count`` points, the next ``count`` numbers taken."""
        first = self._next.get((task_id, attempt), 0)
        self._next[(task_id, attempt)] = first + count
        return first
