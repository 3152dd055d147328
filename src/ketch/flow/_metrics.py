"""``log_metric`` / ``log_metrics``: numbers a task records while it runs (a loss per epoch...).

Points are buffered in the task's memory (appending a tuple: about a microsecond each) and travel
to the scheduler with the task's result, which writes them to the metadata store's ``metrics``
table: the task never opens the database. A step that raises keeps the points it logged before
the error. A local task also sends its buffer in batches while it runs (every 5,000 points or
after a second, see ``runtime._metricframes``), so that a process that dies (killed, out of
memory) loses only the points of its last second. See docs/metrics.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from ..exceptions import MetricError, UserError
from ..metadata._records import MetricPoint

MetricSpill = Callable[[tuple[MetricPoint, ...]], None]

# A task with a spill function sends its first point at once, then its buffer when it holds
# this many points, or at the first point logged this long after the last send (the scheduler
# sees them live; a task that dies keeps what it sent).
SPILL_POINTS = 5_000
SPILL_SECONDS = 1.0

_buffer: list[MetricPoint] | None = None
_spill: MetricSpill | None = None
_spilled_at = 0.0


def start_metrics(spill: MetricSpill | None = None) -> None:
    """Start buffering the points of the task this process runs (called by the task runner);
    ``spill`` sends batches while it runs (a local task's result pipe)."""
    global _buffer, _spill, _spilled_at
    _buffer, _spill, _spilled_at = [], spill, 0.0  # the first point goes at once


def take_metrics() -> tuple[MetricPoint, ...]:
    """The points logged since `start_metrics` and not spilled; logging is off again."""
    global _buffer, _spill
    points, _buffer, _spill = tuple(_buffer or ()), None, None
    return points


def _send(buffer: list[MetricPoint], now: float) -> None:
    global _spilled_at
    assert _spill is not None
    points = tuple(buffer)
    buffer.clear()
    _spilled_at = now
    _spill(points)


def _number(name: str, value: object) -> float:
    kind = type(value)
    if kind is float or kind is int:
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, (str, bytes, bool)) or not hasattr(kind, "__float__"):
        raise MetricError(
            f"metric {name!r}: {kind.__name__} {value!r:.60} is not a number",
            hint="Log an int or a float (a 0-d numpy or torch value works too).",
        )
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise MetricError(
            f"metric {name!r}: {kind.__name__} cannot be turned into one number ({exc})",
            hint="Log a scalar: e.g. loss.item() for a tensor.",
        ) from None


def _checked_step(name: str, step: object) -> int | None:
    if step is None or type(step) is int:
        return step
    if isinstance(step, bool) or not hasattr(type(step), "__index__"):
        raise MetricError(
            f"metric {name!r}: step {step!r:.60} is not an integer",
            hint="Pass step=<int> (an epoch or a batch number), or leave it out.",
        )
    return int(step)  # type: ignore[call-overload, no-any-return]


def _outside_task(what: str) -> UserError:
    return UserError(
        f"{what} records a metric of the running task, and no task is running here.",
        headline=f"{what} called outside a task",
        hint="Call it inside a @step of a flow run with `python flow.py run`.",
    )


def log_metric(name: str, value: float, step: int | None = None) -> None:
    """Record ``value`` of metric ``name`` for the running task, at ``step`` if given.

    >>> from ketch import log_metric
    >>> log_metric("loss", 0.25, step=3)  # doctest: +SKIP
    """
    buffer = _buffer
    if buffer is None:
        raise _outside_task("log_metric")
    if type(name) is not str or not name:
        raise MetricError(
            f"metric name {name!r:.60} is not a non-empty string",
            hint='Name metrics with text, e.g. log_metric("loss", 0.1).',
        )
    now = time.time()
    buffer.append((name, _checked_step(name, step), _number(name, value), now))
    if _spill is not None and (len(buffer) >= SPILL_POINTS or now - _spilled_at >= SPILL_SECONDS):
        _send(buffer, now)


def log_metrics(values: Mapping[str, float], step: int | None = None) -> None:
    """Record several metrics at once, all at the same ``step``.

    >>> from ketch import log_metrics
    >>> log_metrics({"loss": 0.25, "accuracy": 0.9}, step=3)  # doctest: +SKIP
    """
    if _buffer is None:
        raise _outside_task("log_metrics")
    if not isinstance(values, Mapping):
        raise MetricError(
            f"log_metrics takes a mapping of names to numbers, not {type(values).__name__}",
            hint='Pass a dict, e.g. log_metrics({"loss": 0.1, "accuracy": 0.9}).',
        )
    for name, value in values.items():
        log_metric(name, value, step)
