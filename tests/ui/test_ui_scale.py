"""A run with a 1,500-task foreach: the run page summarises its steps instead of listing the
tasks, the step page lists them a page at a time (cursors), the join's page names its first
inputs, and a Chromium user can follow the next-page link.

How long the pages take is a benchmark (``python -m bench --only ui1000`` and ``--ui100k``),
not a test: a timed test fails on a busy machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browsers import chromium
from flowrun import Project
from uiflows import LOCAL, run_flow, running_ui, settings_for

pytest.importorskip("starlette")

pytestmark = pytest.mark.slow

WIDTH = 1500
PAGE = 400  # tasks per page in these tests (the default is 200)

WIDE_FLOW = """
from ketch import FlowSpec, step


class WideFlow(FlowSpec):
    @step
    def start(self):
        self.items = list(range(WIDTH))
        self.next(self.work, foreach="items")

    @step
    def work(self):
        self.out = self.input * 2
        if self.input == 77:
            raise ValueError("seventy-seven")
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.out for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    WideFlow()
""".replace("WIDTH", str(WIDTH))


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, int, int]:
    """A project with two runs of the wide flow: one whose foreach task 77 failed, then one
    that completed (the same flow without the failure); returns both run ids."""
    project = Project(tmp_path_factory.mktemp("wide"))
    project.write("wide.py", WIDE_FLOW)
    failed, code = run_flow(project, "wide.py", "--max-num-splits", str(WIDTH))
    assert code != 0
    project.write("wide.py", WIDE_FLOW.replace("self.input == 77", "False"))
    done, code = run_flow(project, "wide.py", "--max-num-splits", str(WIDTH))
    assert code == 0
    return project, failed, done


@pytest.fixture(scope="module")
def client(wide: tuple[Project, int, int]) -> Iterator[Any]:
    from starlette.testclient import TestClient

    from ketch.ui import create_app

    with TestClient(create_app(settings_for(wide[0].root)), base_url=LOCAL) as test_client:
        yield test_client


def _json(client: Any, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


def test_run_page_summarises_steps_instead_of_listing_tasks(client: Any, wide: Any) -> None:
    _project, failed, done = wide
    run = _json(client, f"/api/WideFlow/{done}")
    steps = {s["name"]: s for s in run["steps"]}
    assert {n: s["num_tasks"] for n, s in steps.items()} == {
        "start": 1, "work": WIDTH, "join": 1, "end": 1
    }  # fmt: skip
    assert run["run"]["task_counts"] == {"completed": WIDTH + 3}
    summary = steps["work"]["summary"]
    assert summary["min_s"] <= summary["median_s"] <= summary["max_s"]
    assert len(summary["slowest"]) == 5 and summary["failed"] == []
    # The timeline draws the small steps' tasks and one aggregate bar for the wide step.
    assert sorted(t["step"] for t in run["tasks"]) == ["end", "join", "start"]
    (agg,) = run["timeline_aggregates"]
    assert agg["step"] == "work" and agg["num_tasks"] == WIDTH
    html = client.get(f"/WideFlow/{done}").text
    assert html.count('class="bar st-completed"') == 3
    assert html.count('class="bar agg st-completed"') == 1
    assert f"{WIDTH:,} tasks" in html

    broken = _json(client, f"/api/WideFlow/{failed}")
    work = next(s for s in broken["steps"] if s["name"] == "work")
    # Task 77 failed; the tasks running beside it were stopped, and count as failed too.
    n_failed = work["task_counts"]["failed"]
    assert 1 <= n_failed <= 64 and len(work["summary"]["failed"]) == min(n_failed, 5)


def test_step_pages_walk_every_task_once(client: Any, wide: Any) -> None:
    _project, _failed, done = wide
    base = f"/api/WideFlow/{done}/work"
    indices: list[int] = []
    page = _json(client, f"{base}?limit={PAGE}")
    pages = 1
    while True:
        assert len(page["tasks"]) <= PAGE and page["filters"]["limit"] == PAGE
        indices.extend(t["foreach"][0]["index"] for t in page["tasks"])
        if page["next"] is None:
            break
        page = _json(client, f"{base}?limit={PAGE}&after={page['next']}")
        pages += 1
    assert indices == list(range(WIDTH)) and pages == 4
    assert page["step"]["num_tasks"] == WIDTH  # every page still counts the whole step
    assert len(_json(client, base)["tasks"]) == 200  # the default page size


def test_step_page_html_links_pages_and_jumps_to_a_task(client: Any, wide: Any) -> None:
    _project, _failed, done = wide
    here = f"/WideFlow/{done}/work"
    html = client.get(f"{here}?limit={PAGE}").text
    assert f'All <span class="n">{WIDTH}</span>' in html
    rows = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert rows.count("<tr>") == PAGE
    cursor = _json(client, f"/api{here}?limit={PAGE}")["next"]
    assert f'href="{here}?limit={PAGE}&amp;after={cursor}"' in html
    assert "First page" not in html
    # Jump to a task: its page starts at that task.
    task_id = _json(client, f"/api{here}?limit=1&after={cursor}")["tasks"][0]["id"]
    jumped = _json(client, f"/api{here}?task={task_id}&limit=3")
    assert jumped["tasks"][0]["id"] == task_id and jumped["tasks"][0]["foreach"][0]["index"] == PAGE
    assert "First page" in client.get(f"{here}?task={task_id}").text
    missing = client.get(f"/api{here}?task=999999999")
    assert missing.status_code == 404
    bad = client.get(f"/api{here}?after=not-a-cursor")
    assert bad.status_code == 400 and "cursor" in bad.json()["error"]["message"]


def test_failed_filter_pages_only_failed_tasks(client: Any, wide: Any) -> None:
    _project, failed, _done = wide
    base = f"/api/WideFlow/{failed}/work?status=failed&limit=5"
    page, seen = _json(client, base), []
    while True:
        assert all(t["status"] == "failed" for t in page["tasks"])
        seen.extend(page["tasks"])
        if page["next"] is None:
            break
        page = _json(client, f"{base}&after={page['next']}")
    assert len(seen) == page["step"]["task_counts"]["failed"]
    (boom,) = [t for t in seen if t["foreach"][0]["index"] == 77]
    assert boom["exception"] == "ValueError: seventy-seven"


def test_join_task_names_its_first_inputs(client: Any, wide: Any) -> None:
    _project, _failed, done = wide
    (join,) = _json(client, f"/api/WideFlow/{done}/join")["tasks"]
    task = _json(client, f"/api/{join['pathspec']}")["task"]
    assert task["num_inputs"] == WIDTH and 0 < len(task["inputs"]) <= 50
    assert all(i["step"] == "work" for i in task["inputs"])
    html = client.get(f"/{join['pathspec']}").text
    assert f"and {WIDTH - 12:,} more" in html


def test_flow_page_pages_runs_through_a_cursor(client: Any, wide: Any) -> None:
    _project, failed, done = wide
    first = _json(client, "/api/WideFlow?limit=1")
    assert [r["id"] for r in first["runs"]] == [done] and first["next"]
    second = _json(client, f"/api/WideFlow?limit=1&after={first['next']}")
    assert [r["id"] for r in second["runs"]] == [failed] and second["next"] is None
    assert "Next 1" in client.get("/WideFlow?limit=1").text


def test_chromium_follows_the_next_page_link(wide: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    project, _failed, done = wide
    with chromium() as browser, running_ui(project, "-m", "ketch.cli", "ui", "--port", "0") as ui:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{ui.base}/WideFlow/{done}/work")
        rows = page.locator("table.tasks tbody tr")
        expect(rows).to_have_count(200)
        expect(rows.first).to_contain_text("items[0]")
        page.locator("nav.pager a.next").click()
        expect(rows).to_have_count(200)
        expect(rows.first).to_contain_text("items[200]")
        page.locator("nav.pager a.first").click()
        expect(rows.first).to_contain_text("items[0]")
        page.fill("form.jump input[name=task]", str(_task_at(project, done, 1234)))
        page.press("form.jump input[name=task]", "Enter")
        expect(rows.first).to_contain_text("items[1234]")
        assert errors == []


def _task_at(project: Project, run_id: int, index: int) -> int:
    from ketch.metadata import open_store

    settings = settings_for(project.root)
    with open_store(settings.resolved_metadata_url) as store:
        (task,) = [t for t in store.list_tasks(run_id, "work") if t.foreach_stack[0].index == index]
    return task.task_id
