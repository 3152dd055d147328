"""The result model: one row per figure, each with ketch, Metaflow and a floor."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Unit = Literal[
    "s", "ms", "ms/task", "MiB", "bytes", "bytes/task", "files/task", "PUTs/task", "objects/task"
]


@dataclass
class Measure:
    """The values of one figure, one per repeat; reported as their median."""

    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def spread(self) -> tuple[float, float]:
        return min(self.values), max(self.values)

    def __bool__(self) -> bool:
        return bool(self.values)


@dataclass
class Row:
    key: str  # stable id used by the targets and in the JSON
    label: str
    unit: Unit
    ketch: Measure = field(default_factory=Measure)
    metaflow: Measure = field(default_factory=Measure)
    floor: float | None = None
    floor_label: str = ""
    note: str = ""
    error: str = ""  # set when a run failed; the row then shows FAILED
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """Metaflow / ketch: how many times faster (or smaller) ketch is."""
        if not self.ketch or not self.metaflow or self.ketch.median == 0:
            return None
        return self.metaflow.median / self.ketch.median

    @property
    def vs_floor(self) -> float | None:
        if not self.ketch or not self.floor:
            return None
        return self.ketch.median / self.floor

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for side in ("ketch", "metaflow"):
            measure: Measure = getattr(self, side)
            data[side]["median"] = measure.median if measure else None
        data["ratio"] = self.ratio
        data["vs_floor"] = self.vs_floor
        return data


@dataclass(frozen=True)
class Target:
    text: str  # the target as the issue words it
    met: bool | None  # None: not measured in this run
    detail: str


class Results:
    """Rows in the order they were measured, addressable by key."""

    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}
        self.failures: list[str] = []

    def add(self, row: Row) -> Row:
        self.rows[row.key] = row
        return row

    def get(self, key: str) -> Row | None:
        return self.rows.get(key)

    def fail(self, row: Row, message: str) -> None:
        row.error = message.splitlines()[0]
        self.failures.append(f"{row.label}: {message}")
