"""Metric batches on a local task's result pipe: live metrics, and none lost when a task dies.

A task run by the local executor writes, on the pipe that carries its pickled `TaskResult`,
one metrics frame each time ``log_metric`` spills its buffer (see ``ketch.flow._metrics``),
then its result as usual. A metrics frame is ``MAGIC``, the length of its body (8 bytes, little
endian) and the body: the pickled tuple of points. The length lets the executor take each frame
as soon as it has arrived whole, without trying to unpickle a half-received one, and hand its
points to the scheduler while the task runs (:func:`take_metric_frames`); what it has not taken
when the task ends is read with the result (:func:`read_frames`). When the task dies before its
result, the batches it sent are kept.
"""

from __future__ import annotations

import os
import pickle
import struct
from collections.abc import Callable

from ..metadata._records import MetricPoint
from ._spec import TaskResult

MAGIC = b"KMF1"
_HEADER = struct.Struct("<4sQ")


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def metrics_sender(fd: int) -> Callable[[tuple[MetricPoint, ...]], None]:
    """The spill function of a task whose result goes to ``fd``."""

    def send(points: tuple[MetricPoint, ...]) -> None:
        body = pickle.dumps(points, protocol=5)
        write_all(fd, _HEADER.pack(MAGIC, len(body)) + body)

    return send


def take_metric_frames(raw: bytearray) -> list[MetricPoint]:
    """The points of the whole metrics frames at the start of ``raw``, removed from it (a
    frame still arriving, and the result, stay)."""
    view = memoryview(raw)
    points: list[MetricPoint] = []
    pos = 0
    try:
        while len(raw) - pos >= _HEADER.size and raw[pos : pos + 4] == MAGIC:
            end = pos + _HEADER.size + _HEADER.unpack_from(raw, pos)[1]
            if end > len(raw):
                break
            points.extend(pickle.loads(view[pos + _HEADER.size : end]))
            pos = end
    finally:
        view.release()
    if pos:
        del raw[:pos]
    return points


def read_frames(raw: bytes | bytearray) -> tuple[list[MetricPoint], TaskResult | None]:
    """The metric batches a task sent, and its result if it wrote a whole one."""
    rest = bytearray(raw)
    spilled = take_metric_frames(rest)
    if not rest or rest[:4] == MAGIC:  # no result, or a frame cut short by a crash
        return spilled, None
    try:
        frame = pickle.loads(rest)
    except Exception:  # cut short by a crash
        return spilled, None
    return spilled, frame if isinstance(frame, TaskResult) else None
