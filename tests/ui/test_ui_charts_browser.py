"""Charts in a real Chromium: a card's `VegaChart` drawn by the vendored Vega bundle, offline,
under the card's own Content-Security-Policy.

Needs Chromium and the ``playwright`` package (see ``browsers``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browsers import chromium

from ketch.cards import Markdown, VegaChart
from ketch.cards._components import render_component
from ketch.cards._html import page as card_page

pytestmark = pytest.mark.slow

# Specs the old hand-written renderer could not draw: a layer with a transform, a facet, Vega.
LAYERED = {
    "data": {"values": [{"x": i, "y": i * i % 7} for i in range(10)]},
    "transform": [{"calculate": "datum.y * 2", "as": "y2"}],
    "layer": [
        {
            "mark": "line",
            "encoding": {
                "x": {"field": "x", "type": "quantitative"},
                "y": {"field": "y", "type": "quantitative"},
            },
        },
        {
            "mark": "point",
            "encoding": {
                "x": {"field": "x", "type": "quantitative"},
                "y": {"field": "y2", "type": "quantitative"},
            },
        },
    ],
}
FACETED = {
    "data": {"values": [{"g": g, "x": i, "y": i + len(g)} for g in ("a", "b") for i in range(5)]},
    "facet": {"column": {"field": "g", "type": "nominal"}},
    "spec": {
        "mark": "bar",
        "encoding": {
            "x": {"field": "x", "type": "ordinal"},
            "y": {"field": "y", "type": "quantitative"},
        },
    },
}
VEGA = {
    "$schema": "https://vega.github.io/schema/vega/v6.json",
    "width": 200,
    "height": 100,
    "data": [{"name": "t", "values": [{"v": 1}, {"v": 3}]}],
    "scales": [{"name": "y", "domain": {"data": "t", "field": "v"}, "range": "height"}],
    "marks": [
        {
            "type": "rect",
            "from": {"data": "t"},
            "encode": {
                "enter": {
                    "x": {"value": 0},
                    "width": {"value": 20},
                    "y": {"scale": "y", "field": "v"},
                    "y2": {"value": 100},
                }
            },
        }
    ],
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as found:
        yield found


def test_a_card_draws_any_spec_offline(browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    charts = [VegaChart(LAYERED), VegaChart(FACETED, show_controls=True), VegaChart(VEGA)]
    body = "".join(render_component(c) for c in [Markdown("# charts"), *charts])
    card = tmp_path / "card.html"
    card.write_text(card_page("Charts", body), encoding="utf-8")
    assert card.read_text().count("<script>") == 5  # the bundle once, and the drawing script
    context = browser.new_context(offline=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(card.as_uri())
    expect(page.locator(".vega-view svg.marks")).to_have_count(3)
    marks = page.evaluate(
        "Array.from(document.querySelectorAll('.vega-view svg.marks')).map("
        "s => s.querySelectorAll('.mark-line path, .mark-symbol path, .mark-rect path').length)"
    )
    assert marks[0] >= 11 and marks[1] >= 10 and marks[2] >= 2, marks
    assert page.locator(".vega-embed details").count() == 1  # controls only where asked
    assert problems == []
    context.close()
