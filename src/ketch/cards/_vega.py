"""``VegaChart``: a Vega-Lite spec drawn as inline SVG, with no JavaScript and no network.

Cards must open offline and carry no script, so the Vega runtime (a JavaScript bundle) is not
used. Instead this module draws the common single-view charts itself: ``bar`` (stacked by
color), ``line``, ``area`` and ``point``/``circle``/``square``/``tick`` marks over inline
``data.values``, with ``x``/``y`` encodings (quantitative, nominal, ordinal or temporal, with
``sum``/``mean``/``median``/``min``/``max``/``count`` aggregates) and an optional ``color`` field.
Anything else (layers, concatenation, facets, transforms, data by URL) is shown as a note, the
data as a table and the spec as JSON, so nothing is silently lost.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from ._components import CardComponent
from ._html import esc, table

PALETTE = (
    "#4c78a8",
    "#f58518",
    "#e45756",
    "#72b7b2",
    "#54a24b",
    "#eeca3b",
    "#b279a2",
    "#ff9da6",
    "#9d755d",
    "#bab0ac",
)
_MARKS = {"bar", "line", "area", "point", "circle", "square", "tick"}
_COMPOSITE = ("layer", "concat", "hconcat", "vconcat", "facet", "repeat", "transform")
_AGGREGATES: dict[str, Callable[[list[Any]], Any]] = {
    "sum": sum,
    "mean": statistics.fmean,
    "average": statistics.fmean,
    "median": statistics.median,
    "min": min,
    "max": max,
    "count": len,
}
_MAX_TABLE_ROWS = 50


class UnsupportedChart(Exception):
    """The spec uses a feature the offline renderer does not draw."""


class VegaChart(CardComponent):
    """A chart from a Vega-Lite spec (a dict), drawn as SVG; see the module docstring.

    Examples
    --------
    >>> VegaChart({"mark": "bar", "data": {"values": [{"a": "x", "b": 3}]},
    ...            "encoding": {"x": {"field": "a", "type": "nominal"},
    ...                         "y": {"field": "b", "type": "quantitative"}}}).render()[:4]
    '<div'
    """

    REALTIME_UPDATABLE = True

    def __init__(self, spec: dict[str, Any], show_controls: bool = False) -> None:
        self.spec = spec
        self.show_controls = show_controls

    @classmethod
    def from_altair_chart(cls, chart: Any) -> VegaChart:
        """A chart from an Altair chart (through its ``to_dict()``)."""
        return cls(chart.to_dict())

    def update(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def render(self) -> str:
        spec = self.spec if isinstance(self.spec, dict) else {}
        try:
            body = render_svg(spec)
        except UnsupportedChart as exc:
            body = f'<div class="note">This chart is not drawn offline: {esc(exc)}</div>'
        values = _values(spec)
        data = ""
        if values:
            columns = list(dict.fromkeys(k for row in values[:_MAX_TABLE_ROWS] for k in row))
            rows = [[str(row.get(c, "")) for c in columns] for row in values[:_MAX_TABLE_ROWS]]
            data = f"<details><summary>Data ({len(values)} rows)</summary>{table(columns, rows)}"
            data += "</details>"
        source = esc(json.dumps(spec, indent=2, default=str))
        return (
            f'<div class="vega">{body}{data}<details><summary>Vega-Lite spec</summary>'
            f"<pre>{source}</pre></details></div>"
        )


def _values(spec: dict[str, Any]) -> list[dict[str, Any]]:
    data = spec.get("data")
    values = data.get("values") if isinstance(data, dict) else None
    if isinstance(values, list) and all(isinstance(v, dict) for v in values):
        return values
    return []


def _mark(spec: dict[str, Any]) -> str:
    mark = spec.get("mark")
    name = mark.get("type") if isinstance(mark, dict) else mark
    if name not in _MARKS:
        raise UnsupportedChart(f"mark {name!r} (drawn: {', '.join(sorted(_MARKS))})")
    return str(name)


def _title(spec: dict[str, Any]) -> str:
    title = spec.get("title", "")
    return str(title.get("text", "")) if isinstance(title, dict) else str(title or "")


class _Channel:
    """One encoding channel (x or y): its field, whether it is numeric, its aggregate."""

    def __init__(self, name: str, enc: Any, values: list[dict[str, Any]]) -> None:
        if not isinstance(enc, dict):
            raise UnsupportedChart(f"no '{name}' encoding")
        self.field = enc.get("field")
        self.aggregate = enc.get("aggregate")
        if self.aggregate is not None and self.aggregate not in _AGGREGATES:
            raise UnsupportedChart(f"aggregate {self.aggregate!r}")
        if self.field is None and self.aggregate != "count":
            raise UnsupportedChart(f"the '{name}' encoding has no field")
        kind = enc.get("type")
        if kind is None:
            sample = [r.get(self.field) for r in values] if self.field else [0]
            numeric = all(_is_number(v) for v in sample if v is not None)
            kind = "quantitative" if numeric else "nominal"
        self.numeric = kind == "quantitative" or self.aggregate is not None
        label = self.field or "count"
        if self.aggregate and self.aggregate != "count":
            label = f"{self.aggregate} of {label}"
        self.title = str(enc.get("title", label))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _size(value: Any, default: int) -> int:
    return int(value) if _is_number(value) else default


def render_svg(spec: dict[str, Any], width: int = 420, height: int = 240) -> str:
    """Inline SVG of a single-view Vega-Lite spec; raises :class:`UnsupportedChart`."""
    for key in _COMPOSITE:
        if key in spec:
            raise UnsupportedChart(f"'{key}' is not supported")
    mark = _mark(spec)
    values = _values(spec)
    if not values:
        raise UnsupportedChart("the data is not inline (data.values)")
    enc = spec.get("encoding") or {}
    x, y = _Channel("x", enc.get("x"), values), _Channel("y", enc.get("y"), values)
    if not (x.numeric or y.numeric):
        raise UnsupportedChart("neither x nor y is quantitative")
    color = enc.get("color", {}).get("field") if isinstance(enc.get("color"), dict) else None
    plot = _Plot(_size(spec.get("width"), width), _size(spec.get("height"), height))
    return plot.draw(mark, x, y, color, values, _title(spec))


def _aggregate(rows: list[tuple[Any, Any, Any]], how: str) -> list[tuple[Any, float, Any]]:
    groups: dict[tuple[Any, Any], list[Any]] = defaultdict(list)
    for key, value, series in rows:
        groups[(key, series)].append(value)
    out = []
    for (key, series), items in groups.items():
        numbers = [v for v in items if _is_number(v)]
        if how == "count":
            out.append((key, float(len(items)), series))
        elif numbers:
            out.append((key, float(_AGGREGATES[how](numbers)), series))
    return out


class _Plot:
    """Scales, axes and marks of one chart."""

    def __init__(self, width: int, height: int) -> None:
        self.w, self.h = max(80, min(width, 1600)), max(60, min(height, 1200))
        self.left, self.top, self.bottom = 56, 28, 48

    def draw(
        self,
        mark: str,
        x: _Channel,
        y: _Channel,
        color: str | None,
        values: list[dict[str, Any]],
        title: str,
    ) -> str:
        horizontal = x.numeric and not y.numeric
        cat, num = (y, x) if horizontal else (x, y)
        rows: list[tuple[Any, Any, Any]] = [
            (
                r.get(cat.field) if cat.field else None,
                r.get(num.field) if num.field else 1,
                r.get(color) if color else None,
            )
            for r in values
        ]
        if num.aggregate:
            rows = _aggregate(rows, num.aggregate)
        rows = [r for r in rows if _is_number(r[1]) and (cat.numeric or r[0] is not None)]
        if not rows:
            raise UnsupportedChart("no numeric values to draw")
        series = list(dict.fromkeys(r[2] for r in rows))
        self.colors = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(series)}
        body = self._marks(mark, cat, rows, horizontal)
        legend_w = 120 if color else 0
        total_w = self.left + self.w + 16 + legend_w
        total_h = self.top + self.h + self.bottom
        parts = [
            f'<svg class="vega-svg" role="img" width="{total_w}" height="{total_h}" '
            f'viewBox="0 0 {total_w} {total_h}" font-size="11">',
            f'<text x="{self.left}" y="16" font-size="13" font-weight="600">{esc(title)}</text>',
            *self.axes,
            *body,
            f'<text x="{self.left + self.w / 2:.1f}" y="{total_h - 6}" text-anchor="middle">'
            f"{esc(x.title)}</text>",
            f'<text transform="translate(12,{self.top + self.h / 2:.1f}) rotate(-90)" '
            f'text-anchor="middle">{esc(y.title)}</text>',
        ]
        if color:
            parts += self._legend(color, series, self.left + self.w + 16)
        return "".join(parts) + "</svg>"

    def _marks(
        self, mark: str, cat: _Channel, rows: list[tuple[Any, Any, Any]], horizontal: bool
    ) -> list[str]:
        stacked = mark in ("bar", "area") and not cat.numeric
        totals: dict[Any, float] = defaultdict(float)
        spans = []  # (category, low, high, series)
        for key, value, series in rows:
            low = totals[key] if stacked else 0.0
            totals[key] = low + float(value)
            spans.append((key, low, low + float(value), series))
        highs = [s[2] for s in spans] + [s[1] for s in spans]
        vscale = _Linear(min(0.0, *highs), max(0.0, *highs))
        if cat.numeric:
            keys = [float(r[0]) for r in rows]
            cscale: _Linear | _Band = _Linear(min(keys), max(keys), nice=False)
        else:
            cscale = _Band([str(k) for k in dict.fromkeys(r[0] for r in rows)])
        self.axes = self._axis_lines(cscale, vscale, horizontal)
        out = []
        for key, low, high, series in spans:
            c = cscale.map(key if cat.numeric else str(key))
            out.append(self._mark(mark, cscale, vscale, c, low, high, series, horizontal))
        if mark in ("line", "area"):
            out = self._paths(mark, cscale, vscale, spans, cat.numeric, horizontal)
        return out

    def _xy(self, c: float, v: float, horizontal: bool) -> tuple[float, float]:
        """Pixel position of a (category axis, value axis) pair, both in 0..1."""
        if horizontal:
            return self.left + v * self.w, self.top + c * self.h
        return self.left + c * self.w, self.top + (1 - v) * self.h

    def _mark(
        self,
        mark: str,
        cscale: Any,
        vscale: _Linear,
        c: float,
        low: float,
        high: float,
        series: Any,
        horizontal: bool,
    ) -> str:
        fill = self.colors[series]
        tip = f"<title>{esc(series if series is not None else '')} {high - low:g}</title>"
        if mark == "bar":
            half = (cscale.bandwidth if isinstance(cscale, _Band) else 0.02) * 0.4
            x0, y0 = self._xy(c - half, vscale.map(low), horizontal)
            x1, y1 = self._xy(c + half, vscale.map(high), horizontal)
            return (
                f'<rect x="{min(x0, x1):.1f}" y="{min(y0, y1):.1f}" width="{abs(x1 - x0):.1f}"'
                f' height="{abs(y1 - y0):.1f}" fill="{fill}">{tip}</rect>'
            )
        px, py = self._xy(c, vscale.map(high), horizontal)
        if mark == "square":
            return f'<rect x="{px - 3:.1f}" y="{py - 3:.1f}" width="6" height="6" fill="{fill}">{tip}</rect>'  # noqa: E501
        if mark == "tick":
            dx, dy = (0, 6) if horizontal else (6, 0)
            return (
                f'<line x1="{px - dx:.1f}" y1="{py - dy:.1f}" x2="{px + dx:.1f}" '
                f'y2="{py + dy:.1f}" stroke="{fill}" stroke-width="2">{tip}</line>'
            )
        hollow = 'fill="none" stroke-width="1.5" stroke' if mark == "point" else "fill"
        return f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" {hollow}="{fill}">{tip}</circle>'

    def _paths(
        self,
        mark: str,
        cscale: Any,
        vscale: _Linear,
        spans: list[Any],
        numeric: bool,
        horizontal: bool,
    ) -> list[str]:
        by_series: dict[Any, list[tuple[float, float, float]]] = defaultdict(list)
        for key, low, high, series in spans:
            c = cscale.map(key if numeric else str(key))
            by_series[series].append((c, vscale.map(low), vscale.map(high)))
        out = []
        for series, points in by_series.items():
            points.sort()
            top = [self._xy(c, hi, horizontal) for c, _lo, hi in points]
            line = " ".join(f"{px:.1f},{py:.1f}" for px, py in top)
            fill = self.colors[series]
            if mark == "line":
                out.append(
                    f'<polyline points="{line}" fill="none" stroke="{fill}" stroke-width="2"/>'
                )
            else:
                base = [self._xy(c, lo, horizontal) for c, lo, _hi in reversed(points)]
                ring = line + " " + " ".join(f"{px:.1f},{py:.1f}" for px, py in base)
                out.append(f'<polygon points="{ring}" fill="{fill}" fill-opacity="0.7"/>')
        return out

    def _axis_lines(self, cscale: Any, vscale: _Linear, horizontal: bool) -> list[str]:
        out = [
            f'<rect x="{self.left}" y="{self.top}" width="{self.w}" height="{self.h}" '
            'fill="none" stroke="#d0d7de"/>'
        ]
        for tick in vscale.ticks():
            px, py = self._xy(0, vscale.map(tick), horizontal)
            if horizontal:
                out.append(
                    f'<line x1="{px:.1f}" y1="{self.top}" x2="{px:.1f}" '
                    f'y2="{self.top + self.h}" stroke="#eaeef2"/>'
                    f'<text x="{px:.1f}" y="{self.top + self.h + 14}" '
                    f'text-anchor="middle">{tick:g}</text>'
                )
            else:
                out.append(
                    f'<line x1="{self.left}" y1="{py:.1f}" x2="{self.left + self.w}" '
                    f'y2="{py:.1f}" stroke="#eaeef2"/><text x="{self.left - 6}" '
                    f'y="{py + 4:.1f}" text-anchor="end">{tick:g}</text>'
                )
        labels = cscale.labels()
        # Rotate the labels of a crowded horizontal axis so that they do not overlap.
        crowded = not horizontal and sum(len(t) for t, _ in labels) * 6.5 > self.w
        if crowded:
            self.bottom += 32
            labels = cscale.labels(limit=max(2, self.w // 18))
        for label, c in labels:
            px, py = self._xy(c, 0, horizontal)
            if horizontal:
                out.append(
                    f'<text x="{self.left - 6}" y="{py + 4:.1f}" text-anchor="end">'
                    f"{esc(label)}</text>"
                )
            elif crowded:
                out.append(
                    f'<text transform="translate({px:.1f},{self.top + self.h + 10}) rotate(-30)" '
                    f'text-anchor="end">{esc(label)}</text>'
                )
            else:
                out.append(
                    f'<text x="{px:.1f}" y="{self.top + self.h + 14}" '
                    f'text-anchor="middle">{esc(label)}</text>'
                )
        return out

    def _legend(self, field: str, series: list[Any], x: float) -> list[str]:
        out = [f'<text x="{x}" y="{self.top + 8}" font-weight="600">{esc(field)}</text>']
        for i, s in enumerate(series[:15]):
            y = self.top + 24 + 16 * i
            out.append(
                f'<rect x="{x}" y="{y - 9}" width="10" height="10" '
                f'fill="{self.colors[s]}"/><text x="{x + 16}" y="{y}">'
                f"{esc(str(s)[:16])}</text>"
            )
        return out


class _Linear:
    """A linear scale onto 0..1, with 'nice' bounds and round tick values."""

    def __init__(self, low: float, high: float, *, nice: bool = True) -> None:
        if high == low:
            low, high = low - 1, high + 1
        self.step = _tick_step(high - low)
        if nice:
            low = math.floor(low / self.step) * self.step
            high = math.ceil(high / self.step) * self.step
        self.low, self.high = low, high

    def map(self, value: Any) -> float:
        return (float(value) - self.low) / (self.high - self.low)

    def ticks(self) -> list[float]:
        first = math.ceil(self.low / self.step)
        count = int(math.floor(self.high / self.step)) - first + 1
        return [round((first + i) * self.step, 10) for i in range(max(0, min(count, 12)))]

    def labels(self, limit: int = 20) -> list[tuple[str, float]]:
        return [(f"{t:g}", self.map(t)) for t in self.ticks()][:limit]


def _tick_step(span: float) -> float:
    raw = span / 5
    power = 10 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


class _Band:
    """A band scale of categories onto 0..1 (each category's center)."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        self.index = {k: i for i, k in enumerate(keys)}
        self.bandwidth = 1 / max(1, len(keys))

    def map(self, key: Any) -> float:
        return (self.index[str(key)] + 0.5) * self.bandwidth

    def labels(self, limit: int = 20) -> list[tuple[str, float]]:
        every = max(1, math.ceil(len(self.keys) / limit))  # thin out labels of long axes
        return [(k[:12], self.map(k)) for i, k in enumerate(self.keys) if i % every == 0]
