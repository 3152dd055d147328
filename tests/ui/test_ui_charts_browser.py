"""Charts in a real Chromium: a card's `VegaChart` drawn by the vendored Vega bundle, offline,
under the card's own Content-Security-Policy; the UI's metric charts (run page, live while
the run runs, compare page) and runs sorted by a metric, under the UI's strict policy.

Needs Chromium and the ``playwright`` package (see ``browsers``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browsers import chromium
from metricflows import MetricProject, build_metric_project
from test_ui_metrics import client_points
from uiflows import RunningUI, running_ui

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


@pytest.fixture(scope="module")
def metric_project(tmp_path_factory: pytest.TempPathFactory) -> MetricProject:
    return build_metric_project(tmp_path_factory.mktemp("metric-browser"))


@pytest.fixture(scope="module")
def ui(metric_project: MetricProject) -> Iterator[RunningUI]:
    with running_ui(metric_project.project, "-m", "ketch.cli", "ui", "--port", "0") as running:
        yield running


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page that fails the test on a script error or a Content-Security-Policy refusal."""
    context = browser.new_context()
    tab = context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda exc: problems.append(str(exc)))
    yield tab
    context.close()
    assert problems == []


def _lines(page: Any) -> dict[str, list[Any]]:
    """metric -> [points drawn, lines drawn] of each chart of the page."""
    found = page.evaluate(
        "Array.from(document.querySelectorAll('.metric-chart')).map(f => [f.dataset.metric, "
        "Number(f.dataset.points), f.querySelectorAll('.mark-line path').length])"
    )
    return {name: [points, lines] for name, points, lines in found}


def test_the_run_page_draws_one_line_per_task(
    page: Any, ui: RunningUI, metric_project: MetricProject
) -> None:
    from playwright.sync_api import expect

    run_id = metric_project.runs[0]
    page.goto(f"{ui.base}/MetricFlow/{run_id}")
    expect(page.locator(".metric-chart .mark-line path")).to_have_count(3 * 4)
    loss = client_points(metric_project, run_id, "loss")
    assert _lines(page) == {"loss": [15, 3], "accuracy": [15, 3], "final": [3, 3], "noisy": [3, 3]}
    # the values drawn are those of Run.metrics, one legend entry per task
    drawn = page.evaluate(
        "document.querySelector('[data-metric=loss]').ketchChart.view.data('points')"
        ".map(r => [r.task, r.x, r.y])"
    )
    by_task: dict[str, list[list[float]]] = {}
    for task, x, y in drawn:
        by_task.setdefault(task.split(" ")[0], []).append([x, y])  # "train/3 2": task, value
    assert by_task == loss
    legend = page.evaluate(
        "Array.from(document.querySelectorAll('[data-metric=loss] .role-legend-label text'))"
        ".map(t => t.textContent)"
    )
    assert sorted(label.split(" ")[0] for label in legend) == sorted(loss)


def test_the_charts_grow_while_the_run_runs(
    page: Any, ui: RunningUI, metric_project: MetricProject
) -> None:
    from playwright.sync_api import expect

    project = metric_project.project
    id_file = project.root / "live-run-id.txt"
    run = subprocess.Popen(
        [sys.executable, "metricflow.py", "run", "--pause", "3", "--run-id-file", str(id_file)],
        cwd=project.root,
        env=project.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not (id_file.exists() and id_file.read_text()):
            assert time.monotonic() < deadline, "the run did not start"
            time.sleep(0.05)
        run_id = int(id_file.read_text())
        while not _answers(f"{ui.base}/api/MetricFlow/{run_id}"):
            assert time.monotonic() < deadline, "the run is not in the store"
            time.sleep(0.05)
        page.goto(f"{ui.base}/MetricFlow/{run_id}")
        page.evaluate("window.__notReloaded = true")
        seen = set()
        states = []
        loss = page.locator("[data-metric=loss]")
        while page.locator(".page-head .badge").inner_text() == "running":
            states.append(
                (
                    round(time.monotonic(), 1),
                    loss.count(),
                    page.locator("#metrics").get_attribute("hidden"),
                )
            )
            if loss.count():
                seen.add(int(loss.get_attribute("data-points") or 0))
            assert time.monotonic() < deadline + 60, "the run did not end"
            time.sleep(0.2)
        expect(loss).to_have_attribute("data-points", "15", timeout=10_000)
        assert seen & {5, 10}, f"the chart did not grow point by point: {sorted(seen)} {states}"
        assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
        assert _lines(page)["loss"] == [15, 3]
    finally:
        assert run.wait(timeout=60) == 0


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except OSError:
        return False


def test_the_compare_page_overlays_a_metric(
    page: Any, ui: RunningUI, metric_project: MetricProject
) -> None:
    from playwright.sync_api import expect

    one, three, _two = metric_project.runs
    page.goto(f"{ui.base}/compare?runs=MetricFlow/{one},MetricFlow/{three}")
    page.select_option("select[name=metric]", "final")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("[data-metric=final] .mark-line path")).to_have_count(6)
    assert "metric=final" in page.url
    assert page.locator(".differ-params tbody th").all_inner_texts() == ["scale"]


def test_sorting_runs_by_a_metric_orders_them(
    page: Any, ui: RunningUI, metric_project: MetricProject
) -> None:
    one, three, two = metric_project.runs
    page.goto(f"{ui.base}/MetricFlow")
    page.select_option("select[name=sort]", "metric:final")
    page.select_option("select[name=agg]", "max")
    page.get_by_role("button", name="Filter").click()
    ids = page.locator("table.runs tbody tr td:nth-child(2)").all_inner_texts()
    assert [int(i) for i in ids if int(i) in (one, two, three)] == [three, two, one]
    assert page.locator("td.metric-value").first.inner_text() == "9"
    with urllib.request.urlopen(f"{ui.base}/api/MetricFlow?sort=metric:final&agg=max") as r:
        ranked = [run["id"] for run in json.load(r)["runs"]]
    assert [i for i in ranked if i in (one, two, three)] == [three, two, one]


def test_a_chart_card_draws_in_its_own_sandbox_on_the_task_page(
    page: Any, ui: RunningUI, metric_project: MetricProject
) -> None:
    from playwright.sync_api import expect

    run_id = metric_project.runs[0]
    with urllib.request.urlopen(f"{ui.base}/api/MetricFlow/{run_id}/end") as r:
        task_id = json.load(r)["tasks"][0]["id"]
    page.goto(f"{ui.base}/MetricFlow/{run_id}/end/{task_id}")
    frame = page.locator("#card-frame-0")
    assert frame.get_attribute("sandbox") == "allow-scripts"  # not the UI's origin
    inside = page.frame_locator("#card-frame-0")
    expect(inside.locator(".vega-view svg.marks")).to_have_count(1)
    assert inside.locator(".mark-symbol path").count() == 10  # the layer's points
    # the card told the page its height (the page cannot read a frame of another origin)
    expect(frame).to_have_attribute("style", re.compile(r"height: [1-9][0-9]{2,}px"))
    url = page.evaluate("document.getElementById('card-frame-0').src")
    with urllib.request.urlopen(url) as r:
        policy = r.headers["Content-Security-Policy"]
    assert "sandbox allow-scripts" in policy and "allow-same-origin" not in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "'unsafe-eval'" not in policy
