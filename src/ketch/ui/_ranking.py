"""Runs of a flow sorted and filtered by a metric: ``?sort=metric:accuracy&agg=max&order=desc``
and ``?where=accuracy>0.9`` on the flow page (and its ``/api`` mirror).

A run's value of a metric is one number over its tasks' latest attempts: ``last`` (the value
logged last, by time), ``max`` or ``min`` (``agg``; default ``last``). Runs without the metric
sort after the others; a ``where`` keeps only runs that have its metric and pass it. Both use
one SQL query per metric (`MetadataReader.aggregate_metric`), whatever the number of runs.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..exceptions import UserError
from ._common import shorten
from ._pages import MAX_RUN_LIMIT, flow_page
from ._source import Source

AGGREGATES = ("last", "max", "min")
ORDERS = ("desc", "asc")
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
}
_WHERE = re.compile(r"^\s*(.+?)\s*(>=|<=|!=|>|<|=)\s*([-+0-9.eE]+|nan|inf)\s*$")


@dataclass(frozen=True)
class Ranking:
    """What the flow page was asked: sort by metric ``sort`` (or not), filter by ``where``."""

    sort: str | None = None
    agg: str = "last"
    order: str = "desc"
    where: str | None = None

    @property
    def active(self) -> bool:
        return self.sort is not None or self.where is not None


def parse_ranking(sort: str, agg: str, order: str, where: str) -> Ranking:
    """The ranking of the query parameters (empty strings: not given); a `UserError` for a
    value it cannot use."""
    if sort and not sort.startswith("metric:") or sort == "metric:":
        raise UserError(
            f"Cannot sort runs by '{shorten(sort)}'.",
            hint="Use sort=metric:NAME, e.g. sort=metric:accuracy&order=desc.",
        )
    _choose("agg", agg or "last", AGGREGATES)
    _choose("order", order or "desc", ORDERS)
    if where:
        _parse_where(where)
    return Ranking(sort[7:] or None, agg or "last", order or "desc", where.strip() or None)


def _choose(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise UserError(
            f"Unknown {name} '{shorten(value)}'.", hint=f"Use one of: {', '.join(allowed)}."
        )


def _parse_where(text: str) -> tuple[str, Callable[[float, float], bool], float]:
    match = _WHERE.match(text)
    try:
        bound = float(match[3]) if match else math.nan
    except ValueError:
        match = None
    if match is None:
        raise UserError(
            f"Cannot filter runs by '{shorten(text)}'.",
            hint="Write METRIC OP NUMBER, with OP one of > >= < <= = !=, e.g. where=accuracy>0.9.",
        )
    return match[1], _OPS[match[2]], bound


def ranked_flow_page(
    src: Source, flow: str, ranking: Ranking, *, limit: int, **filters: Any
) -> dict[str, Any]:
    """`flow_page`, its runs sorted and filtered by ``ranking`` (``limit`` of them)."""
    page = flow_page(src, flow, limit=MAX_RUN_LIMIT if ranking.active else limit, **filters)
    page["filters"]["limit"] = limit
    page["metric"] = {**ranking.__dict__, "names": src.store.metric_names(flow)}
    if not ranking.active:
        return page
    page["next"] = None  # the best `limit` runs: one page, not a walk in run order
    runs = page["runs"]
    if ranking.where is not None:
        name, op, bound = _parse_where(ranking.where)
        values = _values(src, flow, name, ranking.agg)
        runs = [r for r in runs if r["id"] in values and op(values[r["id"]], bound)]
    if ranking.sort is not None:
        values = _values(src, flow, ranking.sort, ranking.agg)
        for run in runs:
            run["metric"] = values.get(run["id"])
        sign = -1.0 if ranking.order == "desc" else 1.0
        # Runs with no value (or a NaN) last, whatever the order; then newest first.
        runs.sort(key=lambda r: _key(r, sign))
    page["runs"] = runs[:limit]
    return page


def _values(src: Source, flow: str, name: str, agg: str) -> dict[int, float]:
    return {a.run_id: getattr(a, agg) for a in src.store.aggregate_metric(flow, name)}


def _key(run: dict[str, Any], sign: float) -> tuple[bool, float, int]:
    value = run["metric"]
    if value is None or math.isnan(value):
        return (True, 0.0, -run["id"])
    return (False, sign * value, -run["id"])
