"""Metric batches on a local task's result pipe, so that a task that dies keeps its points.

A task run by the local executor writes, on the pipe that carries its pickled `TaskResult`,
a ``(METRICS_FRAME, points)`` pickle each time ``log_metric`` spills its buffer (see
``ketch.flow._metrics``), then its result as usual. The executor reads the frames back in
order; when the task dies before its result, it keeps the batches it sent.
"""

from __future__ import annotations

import io
import os
import pickle
from collections.abc import Callable

from ..metadata._records import MetricPoint
from ._spec import TaskResult

METRICS_FRAME = "ketch-metrics"


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def metrics_sender(fd: int) -> Callable[[tuple[MetricPoint, ...]], None]:
    """The spill function of a task whose result goes to ``fd``."""

    def send(points: tuple[MetricPoint, ...]) -> None:
        write_all(fd, pickle.dumps((METRICS_FRAME, points), protocol=5))

    return send


def read_frames(raw: bytes | bytearray) -> tuple[list[MetricPoint], TaskResult | None]:
    """The metric batches a task sent, and its result if it wrote a whole one."""
    stream = io.BytesIO(raw)
    spilled: list[MetricPoint] = []
    while stream.tell() < len(raw):
        try:
            frame = pickle.load(stream)
        except Exception:  # cut short by a crash
            break
        if isinstance(frame, TaskResult):
            return spilled, frame
        if isinstance(frame, tuple) and frame[:1] == (METRICS_FRAME,):
            spilled.extend(frame[1])
    return spilled, None
