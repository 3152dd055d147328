"""A run with a 1,000-task foreach: its run page and step page render in under a second."""

from __future__ import annotations

import time

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

BUDGET_S = 1.0


def test_a_thousand_task_foreach_renders_in_under_a_second(project: Project) -> None:
    from starlette.testclient import TestClient

    from ketch.ui import create_app

    project.write("wide.py", WIDE_FLOW)
    run_id, code = run_flow(project, "wide.py", "--max-num-splits", "1000")
    assert code == 0
    with TestClient(create_app(settings_for(project.root)), base_url=LOCAL) as client:
        client.get(f"/WideFlow/{run_id}")  # first request: templates compile once
        timings = {}
        for path in (f"/WideFlow/{run_id}", f"/WideFlow/{run_id}/work"):
            for prefix in ("", "/api"):
                start = time.perf_counter()
                response = client.get(prefix + path)
                timings[prefix + path] = time.perf_counter() - start
                assert response.status_code == 200
        run = client.get(f"/api/WideFlow/{run_id}").json()
        assert {s["name"]: s["num_tasks"] for s in run["steps"]}["work"] == 1000
        assert len(run["tasks"]) == 1003
        step = client.get(f"/api/WideFlow/{run_id}/work").json()
        assert [t["foreach"][0]["index"] for t in step["tasks"]] == list(range(1000))
        page = client.get(f"/WideFlow/{run_id}").text
        assert page.count('class="bar st-completed"') == 1003
    slow = {path: round(t, 3) for path, t in timings.items() if t >= BUDGET_S}
    assert not slow, f"pages slower than {BUDGET_S}s: {slow} (all: {timings})"
