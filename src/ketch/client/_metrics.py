"""``Task.metrics`` and ``Run.metrics``: what tasks logged with ``log_metric``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from ..metadata._records import MetricRecord


@dataclass(frozen=True)
class Metric:
    """One logged value. ``step`` is the x-axis the task gave (None when it gave none);
    ``value`` is NaN where the task logged a NaN; ``timestamp`` is POSIX seconds."""

    name: str
    step: int | None
    value: float
    timestamp: float
    pathspec: str  # the task that logged it: "Flow/run/step/task"

    @property
    def logged_at(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp, tz=timezone.utc)


class Metrics(list[Metric]):
    """The metrics of a task or a run, in the order logged (task by task): a list of `Metric`.

    >>> run.metrics.to_pandas().pivot_table(index="step", columns="name", values="value")
    ... # doctest: +SKIP
    """

    def names(self) -> list[str]:
        """The metric names, in the order first logged."""
        return list(dict.fromkeys(m.name for m in self))

    def of(self, name: str) -> Metrics:
        """The values of metric ``name`` only."""
        return Metrics(m for m in self if m.name == name)

    def to_dicts(self) -> list[dict[str, Any]]:
        return [asdict(m) for m in self]

    def to_pandas(self) -> Any:
        """A DataFrame with columns name, step, value, timestamp and pathspec (needs pandas)."""
        import pandas  # type: ignore[import-untyped,unused-ignore]

        columns = ["name", "step", "value", "timestamp", "pathspec"]
        frame = pandas.DataFrame(self.to_dicts(), columns=columns)
        frame["step"] = frame["step"].astype("Int64")  # None stays <NA>, not a float
        return frame


def metrics_of(run_pathspec: str, records: list[MetricRecord]) -> Metrics:
    return Metrics(
        Metric(
            name=r.name,
            step=r.step,
            value=r.value,
            timestamp=r.timestamp,
            pathspec=f"{run_pathspec}/{r.step_name}/{r.task_id}",
        )
        for r in records
    )
