"""Captured task output is bounded; the rest is echoed but not stored."""

from __future__ import annotations

from ketch.runtime._executor import MAX_LOG_BYTES, keep


def test_output_beyond_the_limit_is_truncated_once() -> None:
    buffer = bytearray()
    chunk = b"x" * (1 << 20)
    for _ in range(MAX_LOG_BYTES // len(chunk) + 5):
        keep(buffer, chunk, "stdout")
    assert buffer.startswith(b"x" * MAX_LOG_BYTES)
    assert buffer.count(b"output truncated") == 1
    assert buffer.endswith(b"more than 10 MB]\n")


def test_results_are_never_truncated() -> None:
    buffer = bytearray()
    keep(buffer, b"r" * (MAX_LOG_BYTES + 1), "result")
    assert len(buffer) == MAX_LOG_BYTES + 1
