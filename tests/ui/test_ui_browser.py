"""End to end in a real Chromium: ``ketch ui`` in a subprocess, pages as a user sees them.

Needs Chromium and the ``playwright`` package (see ``browsers``).
Screenshots go to ``test-artifacts/ui/``.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browsers import chromium
from flowrun import Project
from uiflows import CARD_FLOW, HAS_PANDAS, RunningUI, UIProject, running_ui

pytestmark = pytest.mark.slow

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"

SLOW_FLOW = """
import time
from ketch import FlowSpec, step


class SlowFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.wait)

    @step
    def wait(self):
        time.sleep(4)
        self.waited = True
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    SlowFlow()
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as found:
        yield found


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield tab
    finally:
        context.close()
    assert errors == [], "JavaScript errors on the page"


@pytest.fixture(scope="module")
def server(ui_project: UIProject, browser: Any) -> Iterator[RunningUI]:
    with running_ui(ui_project.project, "-m", "ketch.cli", "ui", "--port", "0") as ui:
        yield ui


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_home_page_lists_flows_and_leads_to_their_runs(page: Any, server: RunningUI) -> None:
    from playwright.sync_api import expect

    page.goto(server.base + "/")
    expect(page.locator("h1")).to_have_text("Flows")
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="FailFlow").locator(".badge")).to_have_text("failed")
    expect(rows.filter(has_text="DemoFlow").locator(".badge")).to_have_text("completed")
    shot(page, "home")

    page.get_by_role("link", name="DemoFlow", exact=True).click()
    expect(page).to_have_url(server.base + "/DemoFlow")
    runs = page.locator("table.runs tbody tr")
    expect(runs).to_have_count(2)
    expect(runs.first).to_contain_text("alpha=0.9")
    expect(runs.last).to_contain_text("tester")
    shot(page, "flow")

    page.get_by_role("link", name="exp").click()
    expect(page).to_have_url(server.base + "/DemoFlow?tag=exp")
    expect(runs).to_have_count(1)
    expect(page.locator("input[name=tag]")).to_have_value("exp")
    page.get_by_role("link", name="Clear filters").click()
    expect(runs).to_have_count(2)


def test_run_page_draws_the_graph_and_the_timeline(
    page: Any, server: RunningUI, ui_project: UIProject
) -> None:
    from playwright.sync_api import expect

    run_id = ui_project.demo_runs[0]
    page.goto(f"{server.base}/DemoFlow/{run_id}")
    expect(page.locator(".page-head .badge")).to_have_text("completed")
    nodes = page.locator("svg.dag .node")
    expect(nodes).to_have_count(8)
    square = page.locator('svg.dag .node[data-step="square"]')
    expect(square).to_contain_text("3 tasks")
    expect(square).to_have_class("node st-completed")
    expect(page.locator("svg.dag .edge")).to_have_count(8)
    expect(page.locator("svg.timeline .bar")).to_have_count(10)
    expect(page.locator("section.card", has_text="Parameters")).to_contain_text("alpha")
    shot(page, "run")

    square.click()
    expect(page).to_have_url(f"{server.base}/DemoFlow/{run_id}/square")
    tasks = page.locator("table.tasks tbody tr")
    expect(tasks).to_have_count(3)
    expect(tasks.nth(1)).to_contain_text("items[1]")
    expect(tasks.nth(1)).to_contain_text("item-1")
    shot(page, "step")

    tasks.nth(1).locator("a").first.click()
    expect(page.locator("pre#stdout")).to_have_text("squared item-1")


def test_task_page_shows_artifacts_logs_and_attempts(
    page: Any, server: RunningUI, ui_project: UIProject
) -> None:
    from playwright.sync_api import expect

    run_id = ui_project.demo_runs[0]
    page.goto(f"{server.base}/DemoFlow/{run_id}/end")
    page.locator("table.tasks tbody tr a").first.click()
    artifacts = page.locator("table.artifacts > tbody > tr")
    expect(page.locator("#artifact-count")).to_contain_text("42")
    expect(page.locator("#artifact-matrix")).to_contain_text("shape (3, 4) · float32")
    expect(page.locator("#artifact-config")).to_contain_text("'layers'")
    expect(page.locator("#artifact-long_text")).to_contain_text(
        "5,000 characters · first 2,000 shown"
    )
    if HAS_PANDAS:
        frame = page.locator("#artifact-frame table.frame")
        expect(frame.locator("tbody tr")).to_have_count(10)
        expect(page.locator("#artifact-frame")).to_contain_text("15 rows × 2 columns")
    expect(artifacts.filter(has_text="Stored data is corrupt")).to_have_count(0)
    expect(page.locator("pre#stdout")).to_have_text("the end")
    expect(page.locator("pre#stderr")).to_have_text("a warning")
    expect(page.locator("section.card", has_text="Attempts").locator("tbody tr")).to_have_count(1)
    shot(page, "task")


def test_a_failed_task_shows_its_exception(
    page: Any, server: RunningUI, ui_project: UIProject
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server.base}/FailFlow/{ui_project.fail_run}")
    expect(page.locator('svg.dag .node[data-step="boom"]')).to_have_class("node st-failed")
    expect(page.locator('svg.dag .node[data-step="end"]')).to_contain_text("not run")
    page.locator('svg.dag .node[data-step="boom"]').click()
    expect(page.locator("table.tasks")).to_contain_text("ValueError: this step always fails")
    page.locator("table.tasks tbody tr a").first.click()
    failure = page.locator("section.failure")
    expect(failure).to_contain_text("ValueError: this step always fails")
    expect(failure.locator("pre")).to_contain_text("Traceback")
    shot(page, "task-failed")


def test_compare_runs_picked_on_the_flow_page(
    page: Any, server: RunningUI, ui_project: UIProject
) -> None:
    from playwright.sync_api import expect

    page.goto(server.base + "/DemoFlow")
    for box in page.locator("table.runs input[type=checkbox]").all():
        box.check()
    page.get_by_role("button", name="Compare selected runs").click()
    expect(page.locator("h1")).to_have_text("Compare runs")
    first, second = ui_project.demo_runs
    header = page.locator("table.compare > thead")
    expect(header).to_contain_text(f"DemoFlow/{second}")
    expect(header).to_contain_text(f"DemoFlow/{first}")
    n_row = page.locator("table.compare > tbody > tr.differs", has_text="n")
    expect(n_row.first).to_contain_text("4")
    expect(page.locator("table.compare")).to_contain_text("Identical")
    shot(page, "compare")


def test_missing_pages_say_what_is_missing(page: Any, server: RunningUI) -> None:
    from playwright.sync_api import expect

    response = page.goto(server.base + "/DemoFlow/999")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    expect(page.locator(".message")).to_have_text("Run 'DemoFlow/999' does not exist.")
    shot(page, "not-found")


def test_pages_work_without_javascript(
    browser: Any, server: RunningUI, ui_project: UIProject
) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        tab = context.new_page()
        tab.goto(f"{server.base}/DemoFlow/{ui_project.demo_runs[0]}")
        assert tab.locator("svg.dag .node").count() == 8
        tab.goto(server.base + "/DemoFlow")
        tab.locator("select[name=status]").select_option("completed")
        tab.get_by_role("button", name="Filter").click()
        assert tab.url.endswith("/DemoFlow?tag=&status=completed")
        assert tab.locator("table.runs tbody tr").count() == 2
    finally:
        context.close()


def test_a_running_run_updates_live(page: Any, project: Project) -> None:
    from playwright.sync_api import expect

    project.write("slow.py", SLOW_FLOW)
    id_file = project.root / "run-id.txt"
    run = subprocess.Popen(
        [sys.executable, "slow.py", "run", "--run-id-file", str(id_file)],
        cwd=project.root,
        env=project.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        database = project.root / ".ketch" / "ketch.db"
        while not (id_file.exists() and id_file.read_text() and database.exists()):
            assert time.monotonic() < deadline, "the run did not start"
            time.sleep(0.05)
        run_id = int(id_file.read_text())
        with running_ui(project, "-m", "ketch.cli", "ui", "--port", "0") as ui:
            page.goto(f"{ui.base}/SlowFlow/{run_id}")
            badge = page.locator(".page-head .badge")
            expect(badge).to_have_text("running")
            expect(page.locator(".live-note")).to_be_visible()
            expect(page.locator('svg.dag .node[data-step="wait"]')).to_have_class(
                "node st-running", timeout=10_000
            )
            shot(page, "live-running")
            page.evaluate("window.__notReloaded = true")

            expect(badge).to_have_text("completed", timeout=30_000)
            assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
            expect(page.locator('svg.dag .node[data-step="end"]')).to_have_class(
                "node st-completed"
            )
            expect(page.locator(".live-note")).to_have_count(0)
            shot(page, "live-completed")
    finally:
        assert run.wait(timeout=60) == 0


def _start_run(project: Project, flow_file: str, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``flow_file`` running in the background; returns the process and the run id."""
    id_file = project.root / "run-id.txt"
    run = subprocess.Popen(
        [sys.executable, flow_file, "run", "--run-id-file", str(id_file), *args],
        cwd=project.root,
        env=project.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    database = project.root / ".ketch" / "ketch.db"
    while not (id_file.exists() and id_file.read_text() and database.exists()):
        assert time.monotonic() < deadline, "the run did not start"
        time.sleep(0.05)
    return run, int(id_file.read_text())


def _first_task(base: str, path: str) -> int:
    """The id of the first task of the step at ``path``, once it has started (the run's own
    record may land a moment after its id is written: a 404 until then)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api{path}", timeout=5) as response:
                tasks = json.load(response)["tasks"]
        except urllib.error.HTTPError as error:
            assert error.code == 404, error
            tasks = []
        if tasks:
            return int(tasks[0]["id"])
        assert time.monotonic() < deadline, f"no task of {path} started"
        time.sleep(0.1)


def test_cards_show_inline_and_update_live(page: Any, project: Project) -> None:
    from playwright.sync_api import expect

    project.write("cards.py", CARD_FLOW)
    (SHOTS / "card-live.png").unlink(missing_ok=True)
    run, run_id = _start_run(project, "cards.py", "--pause", "0.6")  # 8 epochs: about 5 s
    try:
        with running_ui(project, "-m", "ketch.cli", "ui", "--port", "0") as ui:
            task_id = _first_task(ui.base, f"/CardFlow/{run_id}/start")
            page.goto(f"{ui.base}/CardFlow/{run_id}/start/{task_id}")
            expect(page.locator(".page-head .badge")).to_have_text("running")
            page.evaluate("window.__notReloaded = true")

            # The cards appear at their first refresh, then follow the step's progress.
            progress = page.frame_locator("#card-frame-0").locator(".progress")
            expect(progress).to_contain_text("Epochs", timeout=15_000)
            expect(page.locator("#card-0 .live-note")).to_have_text("live")
            page.evaluate("document.getElementById('card-frame-0').ketchKept = true")
            seen = set()
            deadline = time.monotonic() + 30
            while page.locator(".page-head .badge").inner_text() == "running":
                assert time.monotonic() < deadline, "the task did not finish"
                with contextlib.suppress(Exception):  # the frame may be between two documents
                    seen.add(progress.get_attribute("aria-valuenow", timeout=500))
                if len(seen) == 2 and not (SHOTS / "card-live.png").exists():
                    shot(page, "card-live")
                time.sleep(0.15)
            # At least one state before the last, then another: the frame followed the step.
            assert len(seen - {None}) >= 2 and seen - {None, "8"}, f"live states seen: {seen}"
            assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
            kept = "document.getElementById('card-frame-0').ketchKept === true"
            assert page.evaluate(kept), "the frame was replaced, not reloaded in place"

            # Finished: the stored cards replace the live ones.
            frame = page.locator("#card-frame-0")
            expect(frame).not_to_have_attribute("data-version", re.compile("^live:"))
            expect(page.locator("#cards .live-note")).to_have_count(0)
            expect(progress).to_contain_text("8 / 8 (100%)")
            results = page.frame_locator("#card-frame-1").locator("body")
            expect(results).to_contain_text("The loss went down every epoch.")
            expect(page.locator("#card-1 .kind")).to_have_text("default")
            height = frame.evaluate("f => f.getBoundingClientRect().height")
            assert 100 < height < 640, f"the frame was not sized to its card: {height}"
            expect(page.locator("#card-0 a", has_text="Open full page")).to_have_attribute(
                "href", f"/-/card/CardFlow/{run_id}/start/{task_id}/0"
            )
            assert page.evaluate(kept), "the frame was replaced when the task finished"
            page.wait_for_timeout(300)  # let the frames settle before the picture
            shot(page, "card")
    finally:
        assert run.wait(timeout=60) == 0
