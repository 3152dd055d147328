"""``VegaChart``: any Vega-Lite or Vega spec, drawn in the card by the real Vega runtime.

The spec travels in the card as JSON; the card inlines the vendored Vega bundle once (see
`ketch.cards._bundle`), so a chart draws offline, from a file, ``card view`` or the UI.
"""

from __future__ import annotations

import json
from typing import Any

from ._bundle import MARKER
from ._components import CardComponent
from ._html import esc

# Keys only a Vega spec has at its top level (a Vega-Lite spec has none of them).
_VEGA_ONLY = ("marks", "signals", "scales", "axes", "projections")


class VegaChart(CardComponent):
    """A chart from a Vega-Lite (or Vega) spec, a dict; ``show_controls`` adds Vega's menu
    (export as SVG or PNG, view the spec).

    Examples
    --------
    >>> chart = VegaChart({"mark": "bar", "data": {"values": [{"a": "x", "b": 3}]},
    ...                    "encoding": {"x": {"field": "a", "type": "nominal"},
    ...                                 "y": {"field": "b", "type": "quantitative"}}})
    >>> chart.render()[:4]
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

    def update(self, spec: Any = None) -> None:
        """Replace the spec (a dict, or an Altair chart); None keeps it."""
        if spec is not None:
            self.spec = spec.to_dict() if hasattr(spec, "to_dict") else spec

    def render(self) -> str:
        spec = dict(self.spec) if isinstance(self.spec, dict) else {}
        mode = "vega" if _is_vega(spec) else "vega-lite"
        if mode == "vega-lite" and "width" not in spec and not _composite(spec):
            spec["width"] = "container"
        # JSON in a script element: "<" escaped, so no text can close the element.
        data = json.dumps(spec, default=str).replace("<", "\\u003c")
        controls = " data-controls" if self.show_controls else ""
        return (
            f'<div class="vega" {MARKER}="{esc(mode)}"{controls}>'
            '<div class="vega-view"></div>'
            f'<script type="application/json">{data}</script>'
            '<noscript><div class="note">This chart needs JavaScript.</div></noscript></div>'
        )


def _is_vega(spec: dict[str, Any]) -> bool:
    schema = str(spec.get("$schema", ""))
    if "/schema/vega/" in schema:
        return True
    if "/schema/vega-lite/" in schema:
        return False
    return any(key in spec for key in _VEGA_ONLY) and "mark" not in spec


def _composite(spec: dict[str, Any]) -> bool:
    return any(k in spec for k in ("facet", "concat", "hconcat", "vconcat", "repeat"))
