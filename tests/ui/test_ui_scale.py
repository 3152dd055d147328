"""A run with a 1,000-task foreach: its run page and step page show every task."""

from __future__ import annotations

import pytest
from flowrun import Project
from uiflows import LOCAL, run_flow, settings_for

pytest.importorskip("starlette")

pytestmark = pytest.mark.slow

WIDE_FLOW = """
from ketch import FlowSpec, step


class WideFlow(FlowSpec):
    @step
    def start(self):
        self.items = list(range(1000))
        self.next(self.work, foreach="items")

    @step
    def work(self):
        self.out = self.input * 2
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
"""


def test_a_thousand_task_foreach_shows_every_task(project: Project) -> None:
    """What the run and step pages show for 1,000 tasks. How long they take is a benchmark
    (``python -m bench --only ui1000``), not a test: a timed test fails on a busy machine."""
    from starlette.testclient import TestClient

    from ketch.ui import create_app

    project.write("wide.py", WIDE_FLOW)
    run_id, code = run_flow(project, "wide.py", "--max-num-splits", "1000")
    assert code == 0
    with TestClient(create_app(settings_for(project.root)), base_url=LOCAL) as client:
        run = client.get(f"/api/WideFlow/{run_id}").json()
        assert {s["name"]: s["num_tasks"] for s in run["steps"]} == {
            "start": 1,
            "work": 1000,
            "join": 1,
            "end": 1,
        }
        assert run["run"]["task_counts"] == {"completed": 1003}
        assert len(run["tasks"]) == 1003
        page = client.get(f"/WideFlow/{run_id}").text
        assert page.count('class="bar st-completed"') == 1003  # the timeline: one bar each
        assert page.count('data-step="work"') >= 1

        step = client.get(f"/api/WideFlow/{run_id}/work").json()
        assert step["step"]["task_counts"] == {"completed": 1000}
        assert [t["foreach"][0]["index"] for t in step["tasks"]] == list(range(1000))
        assert [t["foreach"][0]["value"] for t in step["tasks"][:3]] == ["0", "1", "2"]
        html = client.get(f"/WideFlow/{run_id}/work").text
        # One page lists them all (no pagination), each row linking to its task.
        assert 'All <span class="n">1000</span>' in html
        rows = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        assert rows.count("<tr>") == 1000
        for task in (step["tasks"][0], step["tasks"][-1]):
            assert f'href="/WideFlow/{run_id}/work/{task["id"]}"' in rows
