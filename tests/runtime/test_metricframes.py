"""Metric batches and the result on a local task's result pipe (``runtime._metricframes``)."""

from __future__ import annotations

import os
import pickle

from ketch.metadata import MetricPoint
from ketch.runtime._metricframes import metrics_sender, read_frames, take_metric_frames
from ketch.runtime._spec import TaskResult


def _pipe_bytes(*batches: tuple[MetricPoint, ...], result: TaskResult | None = None) -> bytes:
    read, write = os.pipe()
    send = metrics_sender(write)
    for batch in batches:
        send(batch)
    if result is not None:
        os.write(write, pickle.dumps(result, protocol=5))
    os.close(write)
    with os.fdopen(read, "rb") as f:
        return f.read()


def test_batches_then_the_result() -> None:
    a = (("loss", 0, 1.0, 1.0),)
    b = (("loss", 1, 0.5, 2.0), ("acc", None, 0.9, 2.0))
    raw = _pipe_bytes(a, b, result=TaskResult(ok=True, metrics=(("z", 2, 3.0, 3.0),)))
    spilled, result = read_frames(raw)
    assert spilled == [*a, *b]
    assert result is not None and result.ok and [p[0] for p in result.metrics] == ["z"]


def test_a_crash_keeps_the_whole_batches() -> None:
    a = (("loss", 0, 1.0, 1.0),)
    raw = _pipe_bytes(a, a)
    spilled, result = read_frames(raw[:-5])  # the second batch cut short
    assert (spilled, result) == ([*a], None)
    assert read_frames(b"") == ([], None)
    result_only = pickle.dumps(TaskResult(ok=False), protocol=5)
    assert read_frames(result_only) == ([], TaskResult(ok=False))


def test_whole_frames_are_taken_as_they_arrive() -> None:
    a = (("loss", 0, 1.0, 1.0),)
    b = (("loss", 1, 0.5, 2.0),)
    result = pickle.dumps(TaskResult(ok=True), protocol=5)
    raw = _pipe_bytes(a, b) + result
    first = len(_pipe_bytes(a))
    buffer = bytearray(raw[: first + 3])  # the first frame and the start of the second
    assert take_metric_frames(buffer) == [*a]
    assert bytes(buffer) == raw[first : first + 3]
    assert take_metric_frames(buffer) == []  # the second is not whole yet
    buffer += raw[first + 3 :]
    assert take_metric_frames(buffer) == [*b]
    assert read_frames(buffer) == ([], TaskResult(ok=True))  # the result stays for the end
